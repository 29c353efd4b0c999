using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace GrpcImages.EndToEndTests;

/// <summary>R38: the console in Chromium, as two accounts and the operator use it, against scripts/run.sh's cluster.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class ConsoleTests(RunningCluster cluster)
{
    private const string Ubuntu = "ubuntu_22_04_x64_20G_alibase_20240101.vhd";

    [Fact]
    public async Task R38_an_image_made_from_an_instance_shows_its_progress_live_then_is_shared_copied_and_refuses_a_delete()
    {
        var owner = await cluster.NewAccountAsync("e2e owner");
        var recipient = await cluster.NewAccountAsync("e2e recipient");
        await using var a = await ConsoleUser.SignInAsync(cluster, owner);
        await using var b = await ConsoleUser.SignInAsync(cluster, recipient);

        // Run an instance from a public image.
        await a.GoAsync("/instances");
        await a.Page.SelectOptionAsync("#instance-image", Ubuntu);
        await a.Page.FillAsync("#instance-name", "web-1");
        await a.Page.FillAsync("#instance-disk", "20");
        await a.Page.ClickAsync("#instance-create");
        var row = a.Page.Locator("tr.instance", new PageLocatorOptions { HasText = "web-1" });
        await Expect(row).ToBeVisibleAsync();
        await a.ScreenshotAsync("instances");

        // Create an image from it: the console moves to the Images page by itself (no reload), where the bar rises.
        await a.Page.EvaluateAsync("() => { window.__sameDocument = true; }");
        await row.Locator("button.create-image").ClickAsync();
        await a.Page.FillAsync("#image-name", "e2e-web");
        await a.Page.FillAsync("#image-description", "<script>alert(1)</script><img src=x onerror=alert(2)>");
        await a.Page.ClickAsync("#image-create");
        await a.Page.WaitForURLAsync(new Regex("/images"));
        var image = a.Page.Locator("tr", new PageLocatorOptions { Has = a.Page.Locator("a.image-link", new PageLocatorOptions { HasText = "e2e-web" }) });
        var seen = new SortedSet<int>();
        var screenshot = false;
        while (!(await image.Locator(".status").InnerTextAsync()).Contains("Available", StringComparison.Ordinal))
        {
            if (await image.Locator("progress.image-progress").CountAsync() > 0 &&
                int.TryParse(await image.Locator("progress.image-progress").GetAttributeAsync("value"), out var progress))
            {
                seen.Add(progress);
                if (!screenshot && progress is > 20 and < 80)
                {
                    await a.ScreenshotAsync("images");
                    screenshot = true;
                }
            }
            await Task.Delay(100);
        }
        Assert.True(await a.Page.EvaluateAsync<bool>("() => window.__sameDocument === true"), "the page was reloaded");
        Assert.Contains(seen, p => p is > 0 and < 100); // it moved while we watched, pushed to the page
        Assert.True(seen.Count >= 2, $"progress seen: {string.Join(",", seen)}");
        var imageId = await image.Locator("code.image-id").InnerTextAsync();

        // Another account typing the image's URL sees "not found", not the image.
        await b.GoAsync($"/images/{imageId}");
        await Expect(b.Page.Locator("h1")).ToHaveTextAsync("Not found");
        await Expect(b.Page.Locator("body")).Not.ToContainTextAsync("e2e-web");
        await b.ScreenshotAsync("image-not-found");

        // The detail page shows the description as text, never as markup.
        await a.GoAsync($"/images/{imageId}");
        await Expect(a.Page.Locator("dd", new PageLocatorOptions { HasText = "<script>alert(1)</script>" })).ToBeVisibleAsync();
        Assert.Equal(0, await a.Page.Locator("main img").CountAsync());
        await a.ScreenshotAsync("image-detail");

        // Share with the other account: it appears under "Shared with me" there.
        await a.GoAsync("/images");
        await image.Locator("button.share").ClickAsync();
        await a.Page.FillAsync("#share-add", recipient.AccountId);
        await a.Page.ClickAsync("#share-apply");
        await Expect(a.Page.Locator("p.done[role=status]")).ToBeVisibleAsync();
        await b.GoAsync("/images?tab=shared");
        await Expect(b.Page.Locator("a.image-link", new PageLocatorOptions { HasText = "e2e-web" })).ToBeVisibleAsync();
        await b.ScreenshotAsync("images-shared-with-me");

        // A delete the rules refuse says why (R32), and offers force.
        await image.Locator("button.delete").ClickAsync();
        await a.Page.ClickAsync("#delete-confirm");
        await Expect(a.Page.Locator(".modal .error")).ToContainTextAsync("ImageUseShared");
        await Expect(a.Page.Locator("#delete-force")).ToBeVisibleAsync();
        await a.ScreenshotAsync("delete-refused");
        await a.Page.ClickAsync(".modal button.secondary");
        await Expect(image).ToBeVisibleAsync(); // the refused delete changed nothing

        // Copy it to another region and follow the task in the Task Log until it is finished.
        await image.Locator("button.copy").ClickAsync();
        await a.Page.SelectOptionAsync("#copy-region", "cn-shanghai");
        await a.Page.ClickAsync("#copy-start");
        await Expect(a.Page.Locator("p.done[role=status]")).ToContainTextAsync("task");
        var taskId = Regex.Match(await a.Page.Locator("p.done[role=status]").InnerTextAsync(), @"task (\S+?)\)").Groups[1].Value;
        await a.GoAsync("/tasks", "cn-shanghai");
        var task = a.Page.Locator($"tr.task[data-task-id='{taskId}']");
        await Expect(task).ToBeVisibleAsync();
        await a.ScreenshotAsync("task-log");
        await Expect(task.Locator(".task-status")).ToHaveTextAsync("Finished", new LocatorAssertionsToHaveTextOptions { Timeout = 120_000 });
        await Expect(task.Locator(".progress-text")).ToHaveTextAsync("100%");
    }

    [Fact]
    public async Task R38_a_qcow2_uploaded_from_the_browser_is_imported_and_its_task_is_in_the_task_log()
    {
        var owner = await cluster.NewAccountAsync("e2e importer");
        await using var a = await ConsoleUser.SignInAsync(cluster, owner);
        var file = Path.Combine(Path.GetTempPath(), $"e2e-{Guid.NewGuid():N}.qcow2");
        var raw = file + ".raw";
        try
        {
            // A real QCOW2 with some data in it (qemu-img, as a person would make one).
            await File.WriteAllBytesAsync(raw, [.. Enumerable.Range(0, 3 << 20).Select(i => (byte)(i * 7))]);
            await RunAsync("qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, file);
            await RunAsync("qemu-img", "resize", "-f", "qcow2", file, "1G");

            await a.GoAsync("/import");
            await a.Page.CheckAsync("#source-upload");
            await a.Page.FillAsync("#new-bucket", $"e2e-{owner.AccountId[^6..]}");
            await a.Page.ClickAsync("#create-bucket");
            await Expect(a.Page.Locator("p.done[role=status]")).ToContainTextAsync("is created");
            await a.Page.SetInputFilesAsync("#upload-file", file);
            await a.Page.FillAsync("#upload-name", "disks/web.qcow2");
            await a.Page.ClickAsync("#upload-start");
            await Expect(a.Page.Locator("#upload-done")).ToBeVisibleAsync();
            await Expect(a.Page.Locator("#upload-percent")).ToHaveTextAsync("100%");
            await a.Page.FillAsync("#import-name", "imported-web");
            await a.Page.FillAsync("#import-os-name", "Ubuntu 22.04");
            await a.ScreenshotAsync("import");
            await a.Page.ClickAsync("#import-start");
            // The first import of an account is refused until it authorizes the import role (R26), which it may do here.
            await Expect(a.Page.Locator("p.error")).ToContainTextAsync("NoSetRoletoECSServiceAcount");
            await a.Page.ClickAsync("#create-import-role");
            await Expect(a.Page.Locator("p.done[role=status]")).ToContainTextAsync("AliyunECSImageImportDefaultRole");
            await a.Page.ClickAsync("#import-start");
            await Expect(a.Page.Locator("p.done[role=status]")).ToContainTextAsync("Task Log");

            await a.GoAsync("/tasks");
            var task = a.Page.Locator("tr.task", new PageLocatorOptions { HasText = "Import image" });
            await Expect(task.Locator(".task-status")).ToHaveTextAsync("Finished", new LocatorAssertionsToHaveTextOptions { Timeout = 120_000 });
            await a.GoAsync("/images");
            var image = a.Page.Locator("tr", new PageLocatorOptions { Has = a.Page.Locator("a.image-link", new PageLocatorOptions { HasText = "imported-web" }) });
            await Expect(image.Locator(".status")).ToContainTextAsync("Available");
        }
        finally
        {
            File.Delete(file);
            File.Delete(raw);
        }
    }

    [Fact]
    public async Task R38_an_accounts_quota_ticket_is_approved_by_the_operator_and_the_account_sees_its_new_limit()
    {
        var owner = await cluster.NewAccountAsync("e2e quota");
        await using var a = await ConsoleUser.SignInAsync(cluster, owner);
        await a.GoAsync("/quotas");
        await a.Page.SelectOptionAsync("#raise-kind", "AccountsPerImage");
        await a.Page.FillAsync("#raise-limit", "80");
        await a.Page.FillAsync("#raise-reason", "a partner program with 70 accounts");
        await a.Page.ClickAsync("#raise-submit");
        await Expect(a.Page.Locator("p.done[role=status]")).ToContainTextAsync("Ticket");
        var ticket = a.Page.Locator("tr.quota-request", new PageLocatorOptions { HasText = "a partner program" });
        await Expect(ticket.Locator(".request-state")).ToHaveTextAsync("Pending");
        await a.ScreenshotAsync("quotas");

        await using var op = await ConsoleUser.SignInAsOperatorAsync(cluster);
        await op.GoAsync("/tickets");
        var pending = op.Page.Locator("tr.quota-request", new PageLocatorOptions { HasText = owner.AccountId });
        await op.ScreenshotAsync("tickets");
        await pending.Locator("button.approve").ClickAsync();
        await Expect(op.Page.Locator("p.done[role=status]")).ToContainTextAsync("approved");

        await a.GoAsync("/quotas");
        await Expect(ticket.Locator(".request-state")).ToHaveTextAsync("Approved");
        await Expect(a.Page.Locator("tr.quota[data-kind='AccountsPerImage'] .limit")).ToHaveTextAsync("80");
    }

    [Fact]
    public async Task R38_a_name_that_is_markup_is_refused_with_the_rule_and_shown_as_text_and_japanese_is_offered()
    {
        var owner = await cluster.NewAccountAsync("e2e names");
        await using var a = await ConsoleUser.SignInAsync(cluster, owner);
        await a.GoAsync("/instances");
        await a.Page.SelectOptionAsync("#instance-image", Ubuntu);
        await a.Page.ClickAsync("#instance-create");
        var row = a.Page.Locator("tr.instance").First;
        await Expect(row).ToBeVisibleAsync();
        await row.Locator("button.create-image").ClickAsync();
        await a.Page.FillAsync("#image-name", "<script>alert(1)</script>");
        await a.Page.ClickAsync("#image-create");
        var refusal = a.Page.Locator(".modal .error");
        await Expect(refusal).ToContainTextAsync("InvalidImageName");
        Assert.Equal(0, await a.Page.Locator("main script").CountAsync());
        await Expect(a.Page.Locator("#image-name")).ToHaveValueAsync("<script>alert(1)</script>"); // what was typed is kept

        await a.Page.GotoAsync("/culture?c=ja&back=/images?region=cn-hangzhou");
        await a.WaitInteractiveAsync();
        await Expect(a.Page.Locator("h1")).ToHaveTextAsync("イメージ");
        await a.ScreenshotAsync("images-ja");
    }

    private static async Task RunAsync(string file, params string[] args)
    {
        using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(file, args) { RedirectStandardError = true })!;
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"{file} failed: {await process.StandardError.ReadToEndAsync()}");
    }
}
