using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Contracts.Transfer.V1;
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

    [Fact]
    public async Task R38_uploads_refuse_bad_input_another_sessions_upload_and_another_accounts_bucket_with_4xx_and_change_nothing()
    {
        var owner = await Cluster.NewAccountAsync();
        var other = await Cluster.NewAccountAsync();
        var bucket = $"up-{owner.AccountId[^8..]}";
        var objects = owner.Client<ObjectStoreService.ObjectStoreServiceClient>();
        await objects.CreateBucketAsync(new CreateBucketRequest { RegionId = "cn-hangzhou", Name = bucket });
        using var anonymous = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = _console };
        using var ownerHttp = await SignedInAsync(owner);
        using var otherHttp = await SignedInAsync(other);

        // Without a session: nothing starts.
        using (var response = await anonymous.PostAsJsonAsync("/uploads", new { region = "cn-hangzhou", bucket, name = "x.raw", size = 10 }))
        {
            Assert.NotEqual(HttpStatusCode.OK, response.StatusCode);
            Assert.True((int)response.StatusCode < 500);
        }
        // Sizes and names out of bounds: 400 with a reason.
        foreach (var bad in new object[]
        {
            new { region = "cn-hangzhou", bucket, name = "x.raw", size = 0 },
            new { region = "cn-hangzhou", bucket, name = "x.raw", size = (64L << 30) + 1 },
            new { region = "cn-hangzhou", bucket, name = new string('n', 1024), size = 10 },
        })
        {
            using var response = await ownerHttp.PostAsJsonAsync("/uploads", bad);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.NotEmpty(await response.Content.ReadAsStringAsync());
        }
        using (var response = await ownerHttp.PostAsync("/uploads", new StringContent("{not json", System.Text.Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }

        // Another session cannot see, write or complete the owner's upload.
        using var started = await ownerHttp.PostAsJsonAsync("/uploads", new { region = "cn-hangzhou", bucket, name = "mine.raw", size = 4 });
        var id = (await started.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("id").GetString()!;
        Assert.Equal(HttpStatusCode.NotFound, (await otherHttp.GetAsync($"/uploads/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await otherHttp.PutAsync($"/uploads/{id}?offset=0", new ByteArrayContent([1, 2, 3, 4]))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await otherHttp.PostAsync($"/uploads/{id}/complete", null)).StatusCode);

        // Another account's bucket: refused with the store's reason; nothing lands in it.
        using var intruding = await otherHttp.PostAsJsonAsync("/uploads", new { region = "cn-hangzhou", bucket, name = "theirs.raw", size = 4 });
        if (intruding.StatusCode == HttpStatusCode.OK)
        {
            var theirs = (await intruding.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("id").GetString()!;
            using var put = await otherHttp.PutAsync($"/uploads/{theirs}?offset=0", new ByteArrayContent([1, 2, 3, 4]));
            using var complete = await otherHttp.PostAsync($"/uploads/{theirs}/complete", null);
            Assert.Equal(HttpStatusCode.BadRequest, put.IsSuccessStatusCode ? complete.StatusCode : put.StatusCode);
        }
        else
        {
            Assert.Equal(HttpStatusCode.BadRequest, intruding.StatusCode);
        }
        var listed = await objects.ListObjectsAsync(new ListObjectsRequest { RegionId = "cn-hangzhou", Bucket = bucket });
        Assert.DoesNotContain(listed.Objects, o => o.Name == "theirs.raw");
    }

    private async Task<HttpClient> SignedInAsync(TestAccount account)
    {
        var pair = await account.Client<AccessKeyService.AccessKeyServiceClient>().CreateAccessKeyAsync(new CreateAccessKeyRequest { AccountId = account.AccountId });
        var http = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false }) { BaseAddress = _console };
        using var signedIn = await SignInAsync(http, pair.AccessKey.AccessKeyId, pair.AccessKeySecret);
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        return http;
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
