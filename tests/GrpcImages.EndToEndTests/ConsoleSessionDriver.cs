using Microsoft.Playwright;

namespace GrpcImages.EndToEndTests;

/// <summary>One person at the console: a browser context of their own (their own cookies), signed in.</summary>
public sealed class ConsoleUser(RunningCluster cluster, IBrowserContext context, IPage page) : IAsyncDisposable
{
    public IPage Page => page;

    public static async Task<ConsoleUser> SignInAsync(RunningCluster cluster, ConsoleAccount account) =>
        await OpenAsync(cluster, async page =>
        {
            await page.FillAsync("#access-key-id", account.AccessKeyId);
            await page.FillAsync("#access-key-secret", account.AccessKeySecret);
            await page.ClickAsync("#sign-in");
        });

    public static async Task<ConsoleUser> SignInAsOperatorAsync(RunningCluster cluster) =>
        await OpenAsync(cluster, async page =>
        {
            await page.FillAsync("#operator-name", "admin");
            await page.FillAsync("#operator-credential", cluster.OperatorCredential);
            await page.ClickAsync("#sign-in-operator");
        });

    private static async Task<ConsoleUser> OpenAsync(RunningCluster cluster, Func<IPage, Task> signIn)
    {
        var context = await cluster.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = cluster.Console.ToString(), Locale = "en-US", ViewportSize = new ViewportSize { Width = 1400, Height = 900 },
        });
        context.SetDefaultTimeout(30_000);
        var page = await context.NewPageAsync();
        var messages = new List<string>();
        page.Console += (_, message) => { lock (messages) { messages.Add($"{message.Type}: {message.Text}"); } };
        page.PageError += (_, error) => { lock (messages) { messages.Add($"error: {error}"); } };
        // A page that runs script it was not meant to (an image's name or description as markup) fails the test.
        page.Dialog += (_, dialog) => throw new InvalidOperationException($"The page opened a dialog: {dialog.Message}");
        await page.GotoAsync("/signin");
        await signIn(page);
        await page.WaitForURLAsync(url => !url.Contains("/signin", StringComparison.Ordinal));
        var user = new ConsoleUser(cluster, context, page);
        try
        {
            await user.WaitInteractiveAsync();
        }
        catch (TimeoutException)
        {
            string log;
            lock (messages)
            {
                log = string.Join('\n', messages);
            }
            throw new TimeoutException($"The console did not come alive at {page.Url}. Its log:\n{log}\n{await page.ContentAsync()}");
        }
        return user;
    }

    /// <summary>Opens a page of the console in a region and waits until it is live.</summary>
    public async Task GoAsync(string path, string region = "cn-hangzhou")
    {
        await page.GotoAsync($"{path}{(path.Contains('?', StringComparison.Ordinal) ? '&' : '?')}region={region}");
        await WaitInteractiveAsync();
    }

    public Task WaitInteractiveAsync() => page.Locator("main.interactive").WaitForAsync();

    public async Task ScreenshotAsync(string what) =>
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(cluster.ScreenshotDirectory, $"{what}.png"), FullPage = true });

    public async ValueTask DisposeAsync()
    {
        await context.CloseAsync();
    }
}
