using Grpc.Core;
using GrpcImages.Client;
using GrpcImages.Console.Resources;
using GrpcImages.Console.Sessions;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.Localization;

namespace GrpcImages.Console.Components.Parts;

/// <summary>
/// What every page of the console does: it calls the cluster as the signed-in principal, shows a refusal with the
/// rule's code and message (and changes nothing of its own state), shows the banner while a service is away and
/// loads again when it is back. Pages are per region (the region of the URL, else the first).
/// </summary>
public abstract class ConsolePage : ComponentBase, IAsyncDisposable
{
    private readonly CancellationTokenSource _closing = new();

    [Inject]
    protected ConsoleSession Session { get; set; } = default!;

    [Inject]
    protected ServiceStatus Status { get; set; } = default!;

    [Inject]
    protected RegionDirectory RegionDirectory { get; set; } = default!;

    [Inject]
    protected NavigationManager Navigation { get; set; } = default!;

    [Inject]
    protected IStringLocalizer<Strings> T { get; set; } = default!;

    [SupplyParameterFromQuery(Name = "region")]
    public string? RegionQuery { get; set; }

    /// <summary>The page's region.</summary>
    protected string Region { get; private set; } = "";

    protected IReadOnlyList<GrpcImages.Contracts.Catalog.V1.Region> Regions { get; private set; } = [];

    protected GrpcImagesClient Cluster => Session.Client;

    /// <summary>The last refusal, as "Code: message" (null when the last call went through).</summary>
    protected string? Error { get; set; }

    /// <summary>What the last action did, for the person who asked.</summary>
    protected string? Done { get; set; }

    /// <summary>Cancelled when the page goes away (its streams and loops end).</summary>
    protected CancellationToken Closing => _closing.Token;

    protected override async Task OnInitializedAsync()
    {
        Status.Recovered += LoadAsync;
        await TryAsync(async () => Regions = await RegionDirectory.AllAsync(Cluster));
    }

    protected override async Task OnParametersSetAsync()
    {
        var region = Regions.Any(r => r.RegionId == RegionQuery) ? RegionQuery! : Regions.Count > 0 ? Regions[0].RegionId : "";
        if (region != Region)
        {
            Region = region;
            await LoadAsync();
        }
        Status.Loaded();
    }

    /// <summary>Loads what the page shows (again after the region changed or the cluster came back).</summary>
    protected abstract Task LoadAsync();

    /// <summary>A link to a page of the console in this page's region.</summary>
    protected string Link(string path) => $"{path}{(path.Contains('?', StringComparison.Ordinal) ? '&' : '?')}region={Uri.EscapeDataString(Region)}";

    /// <summary>
    /// Calls the cluster: true when it went through. A refusal is shown with the rule's code; the service being away
    /// turns the banner on; a token the services no longer take ends the session.
    /// </summary>
    protected async Task<bool> TryAsync(Func<Task> call)
    {
        try
        {
            await call();
            Error = null;
            await Status.UpAsync();
            return true;
        }
        catch (GrpcImagesException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded)
        {
            Status.Down();
        }
        catch (GrpcImagesException ex) when (ex.StatusCode == StatusCode.Unauthenticated)
        {
            Session.Refused(ex);
        }
        catch (GrpcImagesException ex)
        {
            Error = ex.Reason.Length > 0 ? $"{ex.Reason}: {ex.Status.Detail}" : ex.Status.Detail;
        }
        catch (OperationCanceledException) when (Closing.IsCancellationRequested)
        {
        }
        return false;
    }

    public virtual async ValueTask DisposeAsync()
    {
        Status.Recovered -= LoadAsync;
        await _closing.CancelAsync();
        _closing.Dispose();
        GC.SuppressFinalize(this);
    }
}
