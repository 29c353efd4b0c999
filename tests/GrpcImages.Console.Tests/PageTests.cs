using Bunit;
using GrpcImages.Console.Components.Pages;
using GrpcImages.Console.Components.Parts;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Sharing.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.Testing;

namespace GrpcImages.Console.Tests;

/// <summary>R38: the console's pages over a real cluster, rendered by bUnit (what they show, and what a refusal leaves).</summary>
public class PageTests(ClusterFixture fixture, ITestOutputHelper output) : ClusterTest(fixture, output)
{
    private const string Hangzhou = "cn-hangzhou";
    private const string Shanghai = "cn-shanghai";
    private const string Ubuntu = "ubuntu_22_04_x64_20G_alibase_20240101.vhd";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task R38_the_images_page_lists_the_accounts_images_and_moves_a_row_live_as_the_image_is_made()
    {
        var owner = await Cluster.NewAccountAsync();
        using var console = new ConsoleContext(Cluster, owner);
        console.Navigate($"/images?region={Hangzhou}");
        var page = console.Render<Images>();
        page.WaitForAssertion(() => Assert.Contains("No images.", page.Markup), Patience);

        var image = await NewImageAsync(owner, "live-row");
        // Pushed by WatchImages: the row appears, shows its progress while Creating, then turns Available.
        page.WaitForAssertion(() => Assert.Contains("live-row", page.Find("a.image-link").TextContent), Patience);
        page.WaitForAssertion(() => Assert.Contains("Available", page.Find("span.status").TextContent), Patience);
        Assert.Equal(image.ImageId, page.Find("code.image-id").TextContent);
        Assert.Empty(page.FindAll("progress.image-progress"));
    }

    [Fact]
    public async Task R32_R38_a_refused_delete_shows_ImageUseShared_offers_force_and_leaves_the_image()
    {
        var owner = await Cluster.NewAccountAsync();
        var recipient = await Cluster.NewAccountAsync();
        var image = await NewImageAsync(owner, "shared-one", waitAvailable: true);
        await owner.Client<SharingService.SharingServiceClient>().ModifyImageSharePermissionAsync(new ModifyImageSharePermissionRequest
        {
            RegionId = Hangzhou, ImageId = image.ImageId, AddAccountIds = { recipient.AccountId },
        });
        using var console = new ConsoleContext(Cluster, owner);
        string? closedWith = "never closed";
        var dialog = console.Render<DeleteImageDialog>(p => p
            .Add(d => d.Image, image).Add(d => d.Cluster, console.Session.Client).Add(d => d.Close, (string? done) => closedWith = done));

        dialog.Find("#delete-confirm").Click();
        dialog.WaitForAssertion(() => Assert.Contains("ImageUseShared", dialog.Find(".error").TextContent), Patience);
        Assert.NotNull(dialog.Find("#delete-force")); // force is offered where the rules allow it
        Assert.Equal("never closed", closedWith); // the dialog stays open with the reason
        var still = await owner.Client<ImageService.ImageServiceClient>().GetImageAsync(new GetImageRequest { RegionId = Hangzhou, ImageId = image.ImageId });
        Assert.Equal(ImageStatus.Available, still.Image.Status);
    }

    [Fact]
    public async Task R38_another_accounts_image_url_reads_not_found_and_never_shows_the_image()
    {
        var owner = await Cluster.NewAccountAsync();
        var stranger = await Cluster.NewAccountAsync();
        var image = await NewImageAsync(owner, "private-one");
        using var console = new ConsoleContext(Cluster, stranger);
        console.Navigate($"/images/{image.ImageId}?region={Hangzhou}");
        var page = console.Render<ImageDetail>(p => p.Add(d => d.ImageId, image.ImageId));

        page.WaitForAssertion(() => Assert.Equal("Not found", page.Find("h1").TextContent), Patience);
        Assert.DoesNotContain("private-one", page.Markup);
    }

    [Fact]
    public async Task R38_markup_in_a_description_is_rendered_as_text()
    {
        var owner = await Cluster.NewAccountAsync();
        const string markup = "<script>alert(1)</script><img src=x onerror=alert(2)>";
        var image = await NewImageAsync(owner, "escaped", description: markup);
        using var console = new ConsoleContext(Cluster, owner);
        console.Navigate($"/images/{image.ImageId}?region={Hangzhou}");
        var page = console.Render<ImageDetail>(p => p.Add(d => d.ImageId, image.ImageId));

        page.WaitForAssertion(() => Assert.Contains(page.FindAll("dd"), dd => dd.TextContent == markup), Patience);
        Assert.Empty(page.FindAll("main script, dd img, img"));
    }

    [Fact]
    public async Task R8_R38_the_task_log_follows_a_copy_to_its_end_through_WatchTask()
    {
        var owner = await Cluster.NewAccountAsync();
        var image = await NewImageAsync(owner, "to-copy", waitAvailable: true);
        using var console = new ConsoleContext(Cluster, owner);
        var copy = await owner.Client<TransferService.TransferServiceClient>().CopyImageAsync(new CopyImageRequest
        {
            RegionId = Hangzhou, ImageId = image.ImageId, DestinationRegionId = Shanghai,
        });
        console.Navigate($"/tasks?region={Shanghai}");
        var page = console.Render<TaskLog>();

        page.WaitForAssertion(() => Assert.NotNull(page.Find($"tr[data-task-id='{copy.Task.TaskId}']")), Patience);
        page.WaitForAssertion(() => Assert.Equal("Finished", page.Find($"tr[data-task-id='{copy.Task.TaskId}'] .task-status").TextContent), Patience);
        Assert.Equal("100%", page.Find($"tr[data-task-id='{copy.Task.TaskId}'] .progress-text").TextContent);
    }

    [Fact]
    public async Task R14_R38_the_quotas_page_raises_the_shared_images_quota_at_once_within_self_service()
    {
        var owner = await Cluster.NewAccountAsync();
        using var console = new ConsoleContext(Cluster, owner);
        console.Navigate($"/quotas?region={Hangzhou}");
        var page = console.Render<Quotas>();
        page.WaitForAssertion(() => Assert.NotNull(page.Find("tr.quota[data-kind='SharedImages']")), Patience);
        var quotas = owner.Client<QuotaService.QuotaServiceClient>();
        var before = (await quotas.GetQuotasAsync(new GetQuotasRequest { RegionId = Hangzhou })).Quotas.Single(q => q.Kind == QuotaKind.SharedImages);
        var wanted = Math.Min(before.SelfServiceCeiling, before.Limit + 10);

        page.Find("#raise-kind").Change(QuotaKind.SharedImages.ToString());
        page.Find("#raise-limit").Change(wanted.ToString(System.Globalization.CultureInfo.InvariantCulture));
        page.Find("#raise-reason").Change("more partners");
        page.Find("form.inline").Submit();

        page.WaitForAssertion(() => Assert.Contains($"raised to {wanted}", page.Find("p.done").TextContent), Patience);
        Assert.Equal(wanted.ToString(System.Globalization.CultureInfo.InvariantCulture), page.Find("tr.quota[data-kind='SharedImages'] .limit").TextContent);
        var after = (await quotas.GetQuotasAsync(new GetQuotasRequest { RegionId = Hangzhou })).Quotas.Single(q => q.Kind == QuotaKind.SharedImages);
        Assert.Equal(wanted, after.Limit);
    }

    private static async Task<Image> NewImageAsync(TestAccount owner, string name, string description = "", bool waitAvailable = false)
    {
        var instance = (await owner.Client<InstanceService.InstanceServiceClient>().CreateInstanceAsync(new CreateInstanceRequest
        {
            RegionId = Hangzhou, ImageId = Ubuntu, InstanceName = name,
        })).Instance;
        var image = (await owner.Client<ImageService.ImageServiceClient>().CreateImageAsync(new CreateImageRequest
        {
            RegionId = Hangzhou, InstanceId = instance.InstanceId, ImageName = name, Description = description,
        })).Image;
        while (waitAvailable && image.Status != ImageStatus.Available)
        {
            await Task.Delay(100);
            image = (await owner.Client<ImageService.ImageServiceClient>().GetImageAsync(new GetImageRequest { RegionId = Hangzhou, ImageId = image.ImageId })).Image;
        }
        return image;
    }
}
