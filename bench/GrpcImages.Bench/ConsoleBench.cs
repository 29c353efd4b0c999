using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Testing;
using Microsoft.Playwright;

namespace GrpcImages.Bench;

/// <summary>
/// The console (R38) for an account with 1,000 images: how long the Images page takes the server to render its first
/// page (the prerendered GET, which lists, counts grants and renders; p50 and p95 over many loads), and how long a
/// progress change takes to reach the page in Chromium after the catalog announced it (WatchImages).
/// </summary>
public static partial class ConsoleBench
{
    private const string Region = "cn-hangzhou";

    public static async Task<int> RunAsync(string[] args)
    {
        var images = (int)BenchTools.Option(args, "--images", 1000);
        var loads = (int)BenchTools.Option(args, "--loads", 200);
        await using var cluster = await TestCluster.StartAsync(new Dictionary<string, string?>
        {
            ["Logging:LogLevel:Default"] = "Error",
            ["Quotas:Images"] = (images + 10).ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Catalog:SnapshotBytesPerSecond"] = (256L << 20).ToString(System.Globalization.CultureInfo.InvariantCulture), // 20 GiB: 80 s of progress
        });
        var account = await cluster.NewAccountAsync();
        Console.WriteLine($"Writing {images} images of one account ...");
        for (var i = 0; i < images; i++)
        {
            await cluster.NewImageWithChunksAsync(account, Region, [700_000 + i], $"bench-{i:D4}");
        }
        var pair = await account.Client<AccessKeyService.AccessKeyServiceClient>().CreateAccessKeyAsync(new CreateAccessKeyRequest { AccountId = account.AccountId });

        // The console in a process of its own (built by scripts/bench.sh), as it runs in a deployment.
        var portFile = Path.Combine(cluster.DataDirectory, "console.port");
        var root = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../.."));
        var start = new ProcessStartInfo("dotnet", [Path.Combine(root, "services/GrpcImages.Console/bin/Release/net10.0/GrpcImages.Console.dll")])
        {
            WorkingDirectory = Path.Combine(root, "services/GrpcImages.Console/bin/Release/net10.0"), RedirectStandardOutput = true, RedirectStandardError = true,
        };
        foreach (var (key, value) in new Dictionary<string, string>
        {
            ["Service__Port"] = "0", ["Console__HttpPort"] = "0", ["Console__HttpPortFile"] = portFile, ["Redis__Configuration"] = cluster.RedisConfiguration,
            ["Identity__SigningKey"] = cluster.SigningKey, ["Logging__LogLevel__Default"] = "Error",
            ["Peers__Catalog"] = $"http://127.0.0.1:{cluster.Port(ServiceKind.Catalog)}", ["Peers__Transfer"] = $"http://127.0.0.1:{cluster.Port(ServiceKind.Transfer)}",
            ["Peers__Sharing"] = $"http://127.0.0.1:{cluster.Port(ServiceKind.Sharing)}", ["Peers__Kms"] = $"http://127.0.0.1:{cluster.Port(ServiceKind.Kms)}",
        })
        {
            start.Environment[key] = value;
        }
        using var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        for (var i = 0; i < 600 && !File.Exists(portFile); i++)
        {
            await Task.Delay(100);
        }
        var console = new Uri($"http://127.0.0.1:{File.ReadAllText(portFile).Trim()}/");
        try
        {
            // 1. The Images page's first page, rendered on the server.
            using var http = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false }) { BaseAddress = console };
            await SignInAsync(http, pair.AccessKey.AccessKeyId, pair.AccessKeySecret);
            var times = new List<double>();
            for (var i = 0; i < loads + 20; i++)
            {
                var started = Stopwatch.GetTimestamp();
                using var response = await http.GetAsync($"/images?region={Region}");
                var html = await response.Content.ReadAsStringAsync();
                var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                if (response.StatusCode != HttpStatusCode.OK || !html.Contains("bench-", StringComparison.Ordinal))
                {
                    throw new InvalidOperationException($"The Images page answered {response.StatusCode} without the account's images.");
                }
                if (i >= 20)
                {
                    times.Add(elapsed); // the first loads warm the JIT and the connections
                }
            }
            times.Sort();
            Console.WriteLine($"Images page, {images} images, first page of 20: p50 {times[times.Count / 2]:F1} ms, p95 {times[(int)(times.Count * 0.95)]:F1} ms " +
                $"(goal p95 <= 150 ms), {loads} loads");

            // 2. A progress change, from the catalog's announcement to the page in Chromium.
            await ProgressLatencyAsync(cluster, account, console, pair.AccessKey.AccessKeyId, pair.AccessKeySecret);
        }
        finally
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
        return 0;
    }

    private static async Task SignInAsync(HttpClient http, string id, string secret)
    {
        var form = await http.GetStringAsync("/signin");
        var token = AntiforgeryField().Match(form).Groups[1].Value;
        using var posted = await http.PostAsync("/signin", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["_handler"] = "accesskey", ["__RequestVerificationToken"] = token, ["AccessKey.Id"] = id, ["AccessKey.Secret"] = secret,
        }));
        if (posted.StatusCode != HttpStatusCode.Redirect && posted.StatusCode != HttpStatusCode.Found)
        {
            throw new InvalidOperationException($"Sign-in answered {posted.StatusCode}.");
        }
    }

    private static async Task ProgressLatencyAsync(TestCluster cluster, TestAccount account, Uri console, string id, string secret)
    {
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = "/usr/bin/chromium", Headless = true, Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { BaseURL = console.ToString() });
        await page.GotoAsync("/signin");
        await page.FillAsync("#access-key-id", id);
        await page.FillAsync("#access-key-secret", secret);
        await page.ClickAsync("#sign-in");
        await page.WaitForURLAsync(u => !u.Contains("/signin", StringComparison.Ordinal));
        await page.Locator("main.interactive").WaitForAsync();
        // The page notes when each progress value first shows (the browser's clock is the machine's, as ours).
        await page.EvaluateAsync(@"() => {
            window.__seen = {};
            new MutationObserver(() => document.querySelectorAll('progress.image-progress').forEach(p => {
                const v = p.getAttribute('value'); if (!(v in window.__seen)) window.__seen[v] = Date.now(); })
            ).observe(document.querySelector('main'), { subtree: true, childList: true, attributes: true, characterData: true });
        }");

        var images = account.Client<ImageService.ImageServiceClient>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        using var watch = images.WatchImages(new WatchImagesRequest { RegionId = Region }, cancellationToken: timeout.Token);
        await watch.ResponseHeadersAsync;
        var instance = (await account.Client<InstanceService.InstanceServiceClient>().CreateInstanceAsync(new CreateInstanceRequest
        {
            RegionId = Region, ImageId = "ubuntu_22_04_x64_20G_alibase_20240101.vhd",
        })).Instance;
        var made = (await images.CreateImageAsync(new CreateImageRequest { RegionId = Region, InstanceId = instance.InstanceId, ImageName = "progress-bench" })).Image;
        var announced = new Dictionary<int, long>();
        while (await watch.ResponseStream.MoveNext(timeout.Token))
        {
            var image = watch.ResponseStream.Current.Image;
            if (image.ImageId == made.ImageId)
            {
                announced.TryAdd(image.Progress, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
                if (image.Status == ImageStatus.Available || announced.Count >= 40)
                {
                    break;
                }
            }
        }
        await Task.Delay(1000);
        var seen = await page.EvaluateAsync<Dictionary<string, long>>("() => window.__seen");
        var delays = announced.Where(a => seen.ContainsKey(a.Key.ToString(System.Globalization.CultureInfo.InvariantCulture)))
            .Select(a => (double)(seen[a.Key.ToString(System.Globalization.CultureInfo.InvariantCulture)] - a.Value)).Order().ToList();
        if (delays.Count == 0)
        {
            Console.WriteLine("Progress latency: no progress value reached the page.");
            return;
        }
        Console.WriteLine($"Progress change to the page in Chromium: {delays.Count} changes, p50 {delays[delays.Count / 2]:F0} ms, max {delays[^1]:F0} ms (goal <= 1000 ms)");
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryField();
}
