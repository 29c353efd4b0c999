using System.Net;
using System.Text.RegularExpressions;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace GrpcImages.Console.Tests;

/// <summary>R38: the console's host over HTTP: sign-in refusals and the session cookie, and redirects that stay on the site.</summary>
public partial class HostTests(ClusterFixture fixture, ITestOutputHelper output) : ClusterTest(fixture, output), IAsyncLifetime
{
    private WebApplication? _app;
    private Uri _console = default!;

    public async Task InitializeAsync()
    {
        _app = ConsoleHost.Build([], builder =>
        {
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Service:Port"] = "0", ["Console:HttpPort"] = "0", ["Redis:Configuration"] = Cluster.RedisConfiguration, ["Identity:SigningKey"] = Cluster.SigningKey,
                ["Peers:Catalog"] = Peer(ServiceKind.Catalog), ["Peers:Transfer"] = Peer(ServiceKind.Transfer),
                ["Peers:Sharing"] = Peer(ServiceKind.Sharing), ["Peers:Kms"] = Peer(ServiceKind.Kms),
            });
            builder.Logging.ClearProviders();
            builder.Logging.AddProvider(Cluster.Logs.Provider("console"));
        });
        await _app.StartAsync();
        _console = new Uri($"http://127.0.0.1:{_app.Services.GetRequiredService<PagesEndpoint>().Listen!.IPEndPoint!.Port}/");
    }

    private string Peer(ServiceKind service) => $"http://127.0.0.1:{Cluster.Port(service)}";

    [Fact]
    public async Task R38_a_wrong_secret_is_refused_without_a_session_and_a_right_one_gets_an_HttpOnly_SameSite_Strict_cookie()
    {
        var account = await Cluster.NewAccountAsync();
        var pair = await account.Client<AccessKeyService.AccessKeyServiceClient>().CreateAccessKeyAsync(new CreateAccessKeyRequest { AccountId = account.AccountId });
        using var http = new HttpClient(new HttpClientHandler { UseCookies = true, CookieContainer = new CookieContainer(), AllowAutoRedirect = false }) { BaseAddress = _console };

        using var refused = await SignInAsync(http, pair.AccessKey.AccessKeyId, "not-the-secret-0123456789");
        var page = await refused.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, refused.StatusCode);
        Assert.Contains("Sign-in failed", page);
        Assert.DoesNotContain("not-the-secret-0123456789", page); // what was typed as a secret is not sent back
        Assert.False(refused.Headers.TryGetValues("Set-Cookie", out var none) && none.Any(c => c.StartsWith("gi.session=", StringComparison.Ordinal)));

        using var accepted = await SignInAsync(http, pair.AccessKey.AccessKeyId, pair.AccessKeySecret);
        Assert.Equal(HttpStatusCode.Redirect, accepted.StatusCode);
        var cookie = Assert.Single(accepted.Headers.GetValues("Set-Cookie"), c => c.StartsWith("gi.session=", StringComparison.Ordinal));
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(pair.AccessKeySecret, cookie, StringComparison.Ordinal);
        using var images = await http.GetAsync("/images?region=cn-hangzhou");
        Assert.Equal(HttpStatusCode.OK, images.StatusCode);
        Assert.Contains(account.AccountId, await images.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("/images?region=cn-shanghai", "/images?region=cn-shanghai")]
    [InlineData("//evil.example/x", "/")]
    [InlineData("/\\evil.example/x", "/")]
    [InlineData("https://evil.example/", "/")]
    public async Task R38_the_language_switch_goes_back_only_to_a_page_of_the_console(string back, string expected)
    {
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = _console };
        using var response = await http.GetAsync($"/culture?c=ja&back={Uri.EscapeDataString(back)}");

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal(expected, response.Headers.Location!.OriginalString);
        Assert.Contains(response.Headers.GetValues("Set-Cookie"), c => c.Contains("c%3Dja", StringComparison.Ordinal));
    }

    private static async Task<HttpResponseMessage> SignInAsync(HttpClient http, string id, string secret)
    {
        var form = await http.GetStringAsync("/signin");
        var token = AntiforgeryField().Match(form).Groups[1].Value;
        return await http.PostAsync("/signin", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["_handler"] = "accesskey", ["__RequestVerificationToken"] = token, ["AccessKey.Id"] = id, ["AccessKey.Secret"] = secret,
        }));
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryField();

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
