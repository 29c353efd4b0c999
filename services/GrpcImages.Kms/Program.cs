using GrpcImages.Kms;

await KmsHost.Build(args).RunAsync();
