using GrpcImages.Catalog;

await CatalogHost.Build(args).RunAsync();
