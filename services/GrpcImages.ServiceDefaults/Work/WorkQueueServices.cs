using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace GrpcImages.ServiceDefaults.Work;

/// <summary>A queue a service declared: its key prefix, name and default options.</summary>
public sealed record WorkQueueRegistration(string Prefix, string Name, WorkQueueOptions Defaults);

/// <summary>The queues of a service by name, each made once with its options ("Queues:&lt;name&gt;" overrides the defaults).</summary>
public sealed class WorkQueues
{
    private readonly Dictionary<string, Lazy<WorkQueue>> _queues = new(StringComparer.Ordinal);

    public WorkQueues(IConnectionMultiplexer redis, IConfiguration configuration, TimeProvider time, IEnumerable<WorkQueueRegistration> registrations)
    {
        foreach (var registration in registrations)
        {
            _queues[registration.Name] = new Lazy<WorkQueue>(() =>
            {
                var options = registration.Defaults;
                configuration.GetSection($"Queues:{registration.Name}").Bind(options);
                return new WorkQueue(redis, registration.Prefix, registration.Name, options, time);
            });
        }
    }

    public WorkQueue Get(string name) =>
        _queues.TryGetValue(name, out var queue) ? queue.Value : throw new InvalidOperationException($"No work queue named '{name}' is registered.");

    public IEnumerable<WorkQueue> All => _queues.Values.Select(q => q.Value);
}

public static class WorkQueueServices
{
    /// <summary>A queue this replica puts items in but does not run (another replica, or another deployment, runs it).</summary>
    public static IServiceCollection AddWorkQueueWithoutRunner(this IServiceCollection services, string prefix, string name, WorkQueueOptions? defaults = null)
    {
        services.AddSingleton(new WorkQueueRegistration(prefix, name, defaults ?? new WorkQueueOptions()));
        services.TryAddSingleton<WorkQueues>();
        return services;
    }

    /// <summary>
    /// A queue named <paramref name="name"/> under the service's key prefix, and a runner on this
    /// replica that hands its items to <typeparamref name="THandler"/>; <paramref name="standing"/>
    /// items are queued whenever a runner starts.
    /// </summary>
    public static IServiceCollection AddWorkQueue<THandler>(this IServiceCollection services, string prefix, string name, WorkQueueOptions? defaults = null,
        Func<IServiceProvider, IReadOnlyList<string>>? standing = null)
        where THandler : class, IWorkHandler
    {
        services.AddWorkQueueWithoutRunner(prefix, name, defaults);
        services.TryAddSingleton<THandler>();
        services.AddSingleton<IHostedService>(sp => new WorkQueueRunner(
            sp.GetRequiredService<WorkQueues>().Get(name),
            sp.GetRequiredService<THandler>(),
            sp.GetRequiredService<IConnectionMultiplexer>(),
            sp.GetRequiredService<IConfiguration>()["Service:Name"] ?? "service",
            sp.GetRequiredService<ILogger<WorkQueueRunner>>(),
            standing?.Invoke(sp)));
        return services;
    }
}
