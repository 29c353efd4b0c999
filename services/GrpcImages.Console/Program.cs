using GrpcImages.Console;

await ConsoleHost.Build(args).RunAsync();
