using GrpcImages.Gateway;

await GatewayHost.Build(args).RunAsync();
