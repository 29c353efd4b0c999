using System.Globalization;
using System.Net.Http;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace GrpcImages.Testing;

/// <summary>
/// A minimal ECS API client for tests, signing as Alibaba's signature version 1.0 does (HMAC-SHA1
/// over "POST&amp;%2F&amp;" and the sorted, RFC 3986-encoded parameters, key "&lt;secret&gt;&amp;"),
/// written from the public description, independently of the gateway's own code.
/// </summary>
public sealed class EcsClient(Uri endpoint, string accessKeyId, string secret) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = endpoint, Timeout = TimeSpan.FromSeconds(60) };

    /// <summary>The gateway's address.</summary>
    public Uri Endpoint => endpoint;

    public async Task<(int Status, JsonElement Body)> CallAsync(string action, params (string Name, string Value)[] parameters)
    {
        var all = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["Action"] = action,
            ["Version"] = "2014-05-26",
            ["Format"] = "JSON",
            ["AccessKeyId"] = accessKeyId,
            ["SignatureMethod"] = "HMAC-SHA1",
            ["SignatureVersion"] = "1.0",
            ["SignatureNonce"] = Guid.NewGuid().ToString("N"),
            ["Timestamp"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
        };
        foreach (var (name, value) in parameters)
        {
            all[name] = value;
        }
        var canonical = string.Join('&', all.Select(p => $"{Uri.EscapeDataString(p.Key)}={Uri.EscapeDataString(p.Value)}"));
#pragma warning disable CA5350 // the protocol's algorithm
        var signature = Convert.ToBase64String(HMACSHA1.HashData(Encoding.UTF8.GetBytes(secret + "&"),
            Encoding.UTF8.GetBytes($"POST&{Uri.EscapeDataString("/")}&{Uri.EscapeDataString(canonical)}")));
#pragma warning restore CA5350
        using var content = new StringContent($"{canonical}&Signature={Uri.EscapeDataString(signature)}", Encoding.UTF8, "application/x-www-form-urlencoded");
        using var response = await _http.PostAsync("/", content);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
        return ((int)response.StatusCode, body);
    }

    public void Dispose() => _http.Dispose();
}
