using GrpcImages.Bench;

return args.FirstOrDefault() == "load"
    ? await LoadGenerator.RunAsync(args[1..])
    : await Benchmarks.RunAsync(args);
