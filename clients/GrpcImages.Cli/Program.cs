using GrpcImages.Cli;

return await ImgCtl.RunAsync(args, Console.Out, Console.Error);
