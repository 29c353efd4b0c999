using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace GrpcImages.ServiceDefaults.Redis;

public static partial class RedisSetup
{
    /// <summary>How long a command may take unless the configuration string says otherwise.</summary>
    public const int DefaultTimeoutMs = 1000;

    /// <summary>
    /// The Redis connection from "Redis:Configuration": "host:port", a Sentinel string
    /// ("sentinel:26379,serviceName=mymaster") or several Cluster endpoints.
    /// </summary>
    public static IServiceCollection AddRedis(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton<IConnectionMultiplexer>(sp =>
        {
            var text = configuration["Redis:Configuration"] ?? "127.0.0.1:6379";
            var options = ConfigurationOptions.Parse(text);
            options.AbortOnConnectFail = false; // keep retrying in the background; health reports it
            // Redis answers a healthy call in well under a millisecond: a caller learns that it is
            // gone within a second, and commands are not queued while the connection is down.
            if (!Names(text, "syncTimeout"))
            {
                options.SyncTimeout = DefaultTimeoutMs;
            }
            if (!Names(text, "asyncTimeout"))
            {
                options.AsyncTimeout = DefaultTimeoutMs;
            }
            options.BacklogPolicy = BacklogPolicy.FailFast;
            options.ClientName ??= configuration["Service:Name"];
            var connection = ConnectionMultiplexer.Connect(options);
            var logger = sp.GetRequiredService<ILoggerFactory>().CreateLogger("GrpcImages.Redis");
            connection.ConnectionFailed += (_, e) => LogConnectionFailed(logger, e.EndPoint, e.FailureType);
            connection.ConnectionRestored += (_, e) => LogConnectionRestored(logger, e.EndPoint);
            return connection;
        });
        services.AddSingleton(sp => sp.GetRequiredService<IConnectionMultiplexer>().GetDatabase());
        return services;
    }

    private static bool Names(string configuration, string option) =>
        configuration.Split(',').Any(part => part.Trim().StartsWith(option + "=", StringComparison.OrdinalIgnoreCase));

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis connection to {Endpoint} failed: {FailureType}")]
    private static partial void LogConnectionFailed(ILogger logger, System.Net.EndPoint? endpoint, ConnectionFailureType failureType);

    [LoggerMessage(Level = LogLevel.Information, Message = "Redis connection to {Endpoint} restored")]
    private static partial void LogConnectionRestored(ILogger logger, System.Net.EndPoint? endpoint);
}

/// <summary>Healthy when Redis answers a PING.</summary>
public sealed class RedisHealthCheck(IConnectionMultiplexer redis) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var latency = await redis.GetDatabase().PingAsync();
            return HealthCheckResult.Healthy($"PING {latency.TotalMilliseconds:F1} ms");
        }
        catch (Exception ex) when (RedisFailures.IsUnavailable(ex))
        {
            return HealthCheckResult.Unhealthy("Redis does not answer.");
        }
    }
}
