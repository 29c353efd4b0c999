using Grpc.Core;
using GrpcImages.Client;
using GrpcImages.Console.Resources;
using GrpcImages.Contracts.Catalog.V1;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.Localization;

namespace GrpcImages.Console.Components.Parts;

/// <summary>
/// A dialog that acts on one image: it shows the refusal of its action with the rule's code and stays open (so
/// nothing the person typed is lost), or closes with what was done.
/// </summary>
public abstract class ImageDialog : ComponentBase
{
    [Parameter, EditorRequired]
    public Image Image { get; set; } = default!;

    [Parameter, EditorRequired]
    public GrpcImagesClient Cluster { get; set; } = default!;

    /// <summary>Closes the dialog: with what was done, or null when nothing was.</summary>
    [Parameter]
    public EventCallback<string?> Close { get; set; }

    [Inject]
    protected IStringLocalizer<Strings> T { get; set; } = default!;

    protected string? Error { get; set; }

    protected string? Reason { get; set; }

    protected bool Busy { get; set; }

    /// <summary>Runs the dialog's action; closes with its result, or shows why it was refused.</summary>
    protected async Task SubmitAsync(Func<Task<string>> action)
    {
        Busy = true;
        try
        {
            var done = await action();
            await Close.InvokeAsync(done);
        }
        catch (GrpcImagesException refused)
        {
            Reason = refused.Reason;
            Error = refused.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded
                ? T["A service of the cluster is unavailable; try again in a moment."]
                : $"{refused.Reason}: {refused.Status.Detail}";
        }
        finally
        {
            Busy = false;
        }
    }

    protected Task CancelAsync() => Close.InvokeAsync(null);
}
