using GrpcImages.Transfer;

await TransferHost.Build(args).RunAsync();
