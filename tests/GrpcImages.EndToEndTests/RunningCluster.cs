using System.Diagnostics;
using GrpcImages.Client;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.Contracts.Kms.V1;
using Microsoft.Playwright;

namespace GrpcImages.EndToEndTests;

/// <summary>
/// The cluster exactly as a person starts it, `scripts/run.sh` (its own data directory and ports), and one headless
/// Chromium: Debian's package, never a downloaded browser. Stopped (run.sh stops what it started) after the tests.
/// </summary>
public sealed class RunningCluster : IAsyncLifetime
{
    private static readonly int Base = int.TryParse(Environment.GetEnvironmentVariable("E2E_PORT_BASE"), out var port) ? port : 5300;
    private readonly string _data = Directory.CreateTempSubdirectory("gi-e2e-").FullName;
    private Process? _run;
    private IPlaywright? _playwright;

    public static string Root { get; } = FindRoot();

    public Uri Console { get; } = new($"http://127.0.0.1:{Base + 10}/");

    public string ScreenshotDirectory { get; } = Path.Combine(Root, "TestResults", "screenshots");

    public IBrowser Browser { get; private set; } = default!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(ScreenshotDirectory);
        var start = new ProcessStartInfo("setsid", ["bash", Path.Combine(Root, "scripts", "run.sh")])
        {
            WorkingDirectory = Root, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        start.Environment["GI_DATA"] = _data;
        start.Environment["GI_PORT_BASE"] = Base.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["REDIS_PORT"] = (Base + 90).ToString(System.Globalization.CultureInfo.InvariantCulture);
        _run = Process.Start(start)!;
        var up = new TaskCompletionSource();
        var output = new System.Text.StringBuilder();
        void Read(object? sender, DataReceivedEventArgs e)
        {
            lock (output)
            {
                output.AppendLine(e.Data);
            }
            if (e.Data?.Contains("GrpcImages is up", StringComparison.Ordinal) == true)
            {
                up.TrySetResult();
            }
        }
        _run.OutputDataReceived += Read;
        _run.ErrorDataReceived += Read;
        _run.BeginOutputReadLine();
        _run.BeginErrorReadLine();
        var exited = _run.WaitForExitAsync();
        if (await Task.WhenAny(up.Task, exited, Task.Delay(TimeSpan.FromMinutes(10))) != up.Task)
        {
            throw new InvalidOperationException($"scripts/run.sh did not bring the cluster up:\n{output}");
        }

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = "/usr/bin/chromium",
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"],
        });
    }

    /// <summary>A client of the cluster's services (for what a test prepares or checks outside the browser).</summary>
    public static GrpcImagesClient Client(string? token) => GrpcImagesClient.Create(new GrpcImagesClientOptions
    {
        Catalog = Address(1), Transfer = Address(2), Sharing = Address(3), Kms = Address(4),
        Tokens = token is null ? null : new StaticTokenProvider(token),
    });

    private static Uri Address(int offset) => new($"http://127.0.0.1:{Base + offset}");

    public string OperatorCredential => File.ReadAllText(Path.Combine(_data, "operator.credential")).Trim();

    public async Task<string> OperatorTokenAsync()
    {
        using var anonymous = Client(null);
        return (await anonymous.Accounts.IssueTokenAsync(new IssueTokenRequest { OperatorName = "admin", OperatorCredential = OperatorCredential })).Token;
    }

    /// <summary>A new account and an AccessKey pair of its root, as a person would sign in with.</summary>
    public async Task<ConsoleAccount> NewAccountAsync(string name)
    {
        using var @operator = Client(await OperatorTokenAsync());
        var account = (await @operator.Accounts.CreateAccountAsync(new CreateAccountRequest { Site = Site.Cn, DisplayName = name })).Account;
        var token = (await @operator.Accounts.IssueTokenAsync(new IssueTokenRequest { AccountId = account.AccountId })).Token;
        using var root = Client(token);
        var pair = await root.AccessKeys.CreateAccessKeyAsync(new CreateAccessKeyRequest { AccountId = account.AccountId });
        return new ConsoleAccount(account.AccountId, pair.AccessKey.AccessKeyId, pair.AccessKeySecret, token);
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }
        _playwright?.Dispose();
        if (_run is { HasExited: false })
        {
            // run.sh is its own process group's leader (setsid): TERM it, and it stops what it started.
            Process.Start("kill", ["-TERM", _run.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])?.WaitForExit();
            if (!_run.WaitForExit(TimeSpan.FromSeconds(30)))
            {
                Process.Start("kill", ["-KILL", "--", $"-{_run.Id}"])?.WaitForExit();
            }
        }
        try
        {
            Directory.Delete(_data, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "GrpcImages.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("GrpcImages.sln not found above the test's directory.");
    }
}

public sealed record ConsoleAccount(string AccountId, string AccessKeyId, string AccessKeySecret, string Token);

[CollectionDefinition(Name)]
public sealed class ConsoleCollection : ICollectionFixture<RunningCluster>
{
    public const string Name = "console";
}
