using Bunit;
using GrpcImages.Client;
using GrpcImages.Console.Sessions;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Testing;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace GrpcImages.Console.Tests;

/// <summary>
/// A bUnit context wired as the console wires a circuit: its session signed in as a test account of a real cluster,
/// calling the services over loopback gRPC.
/// </summary>
public sealed class ConsoleContext : BunitContext
{
    private readonly GrpcImagesChannels _channels;

    public ConsoleContext(TestCluster cluster, TestAccount? account)
    {
        _channels = new GrpcImagesChannels(new GrpcImagesClientOptions
        {
            Catalog = Address(cluster, ServiceKind.Catalog), Transfer = Address(cluster, ServiceKind.Transfer),
            Sharing = Address(cluster, ServiceKind.Sharing), Kms = Address(cluster, ServiceKind.Kms),
        });
        Services.AddSingleton(_channels);
        Services.AddSingleton(Options.Create(new ConsoleOptions()));
        Services.AddSingleton(TimeProvider.System);
        Services.AddSingleton<SessionSignIn>();
        Services.AddScoped<ConsoleSession>();
        Services.AddScoped<ServiceStatus>();
        Services.AddSingleton<RegionDirectory>();
        Services.AddLocalization(o => o.ResourcesPath = "");
        JSInterop.Mode = JSRuntimeMode.Loose;
        Session = Services.GetRequiredService<ConsoleSession>();
        if (account is not null)
        {
            Session.Start(new SessionClaims(PrincipalKind.AccountRoot, account.AccountId, "", "", account.Token, DateTimeOffset.UtcNow.AddHours(12)));
        }
    }

    public ConsoleSession Session { get; }

    /// <summary>Sets the URL's query as the browser would (pages read their region and tab from it).</summary>
    public void Navigate(string uri) => Services.GetRequiredService<NavigationManager>().NavigateTo(uri);

    private static Uri Address(TestCluster cluster, ServiceKind service) => new($"http://127.0.0.1:{cluster.Port(service)}");

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            _channels.Dispose();
        }
    }
}
