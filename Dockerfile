# Every service of the cluster, one image each, built from the repository root:
#   docker build --build-arg SERVICE=Catalog  --build-arg PORT=5101 -t grpcimages/catalog .
#   docker build --build-arg SERVICE=Transfer --build-arg PORT=5102 -t grpcimages/transfer .
#   docker build --build-arg SERVICE=Sharing  --build-arg PORT=5103 -t grpcimages/sharing .
#   docker build --build-arg SERVICE=Kms      --build-arg PORT=5104 -t grpcimages/kms .
#   docker build --build-arg SERVICE=Gateway  --build-arg PORT=5106 -t grpcimages/gateway .   (the ECS API on 5105)
#   docker build --build-arg SERVICE=Console  --build-arg PORT=5111 -t grpcimages/console .   (the pages on 5110)
# (docker-compose.yml does this for each service.)
ARG SERVICE=Catalog
ARG PORT=5101

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
ARG SERVICE
WORKDIR /src
# Restore from the project files alone first: source changes then reuse the cached packages layer.
COPY global.json Directory.Build.props Directory.Packages.props ./
COPY services/GrpcImages.Contracts/GrpcImages.Contracts.csproj services/GrpcImages.Contracts/
COPY services/GrpcImages.ServiceDefaults/GrpcImages.ServiceDefaults.csproj services/GrpcImages.ServiceDefaults/
COPY clients/GrpcImages.Client/GrpcImages.Client.csproj clients/GrpcImages.Client/
COPY services/GrpcImages.${SERVICE}/GrpcImages.${SERVICE}.csproj services/GrpcImages.${SERVICE}/
RUN dotnet restore services/GrpcImages.${SERVICE}/GrpcImages.${SERVICE}.csproj
COPY .editorconfig ./
COPY protos/ protos/
COPY services/GrpcImages.Contracts/ services/GrpcImages.Contracts/
COPY services/GrpcImages.ServiceDefaults/ services/GrpcImages.ServiceDefaults/
COPY clients/GrpcImages.Client/ clients/GrpcImages.Client/
COPY services/GrpcImages.${SERVICE}/ services/GrpcImages.${SERVICE}/
RUN dotnet publish services/GrpcImages.${SERVICE}/GrpcImages.${SERVICE}.csproj -c Release --no-restore -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0
ARG SERVICE
ARG PORT
# qemu-img converts VHD/QCOW2/VMDK on import and export (R25, R29): the transfer service only.
RUN if [ "$SERVICE" = "Transfer" ]; then \
      apt-get update && apt-get install -y --no-install-recommends qemu-utils && rm -rf /var/lib/apt/lists/*; \
    fi
WORKDIR /app
COPY --from=build /app ./
# The image's non-root "app" user (uid 1654).
USER $APP_UID
ENV SERVICE=${SERVICE} \
    Service__Bind=0.0.0.0 \
    Service__Port=${PORT} \
    DOTNET_gcServer=1
EXPOSE ${PORT}
ENTRYPOINT ["/bin/sh", "-c", "exec dotnet \"GrpcImages.${SERVICE}.dll\""]
