using GrpcImages.Bench;

return args.FirstOrDefault() switch
{
    "load" => await LoadGenerator.RunAsync(args[1..]),
    "baseline" => await BaselineServer.RunAsync(args[1..]),
    "copy" => await CopyBench.RunAsync(args[1..]),
    "copy-load" => await CopyLoadBench.RunAsync(args[1..]),
    "import-export" => await ImportExportBench.RunAsync(args[1..]),
    "memory" => await Benchmarks.RunAsync(args[1..]),
    "api" => await ApiBench.RunAsync(args[1..]),
    "console" => await ConsoleBench.RunAsync(args[1..]),
    "scale" => await ScaleBench.RunAsync(args[1..]),
    _ => await ApiBench.RunAsync(args),
};
