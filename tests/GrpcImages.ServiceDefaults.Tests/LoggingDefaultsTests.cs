using GrpcImages.ServiceDefaults.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace GrpcImages.ServiceDefaults.Tests;

public class LoggingDefaultsTests
{
    [Fact]
    public void OurOwnCategoriesLogInformationWhileFrameworkCategoriesLogWarningsOnly()
    {
        var builder = WebApplication.CreateBuilder();
        builder.AddServiceDefaults("test", 0);
        using var app = builder.Build();
        var loggers = app.Services.GetRequiredService<ILoggerFactory>();

        Assert.True(loggers.CreateLogger("GrpcImages.Catalog.Domain.CatalogSeeder").IsEnabled(LogLevel.Information));
        Assert.True(loggers.CreateLogger("GrpcImages.Redis").IsEnabled(LogLevel.Information));
        Assert.False(loggers.CreateLogger("Grpc.AspNetCore.Server.ServerCallHandler").IsEnabled(LogLevel.Information));
        Assert.False(loggers.CreateLogger("System.Net.Http.HttpClient.Default.LogicalHandler").IsEnabled(LogLevel.Information));
        Assert.False(loggers.CreateLogger("Microsoft.AspNetCore.Hosting.Diagnostics").IsEnabled(LogLevel.Information));
    }
}
