using GrpcImages.Sharing;

await SharingHost.Build(args).RunAsync();
