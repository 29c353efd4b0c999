using System.Security.Cryptography;
using System.Text;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Gateway.Ecs;
using GrpcImages.Gateway.Signatures;

namespace GrpcImages.Domain.Tests;

/// <summary>
/// The gateway's reading of signed ECS requests, without a cluster (the SDKs themselves are run
/// against the gateway by tests/ecs-sdk).
/// </summary>
public class GatewayRuleTests
{
    private static readonly KeyValuePair<string, string>[] NoPairs = [];

    private static Func<string, IReadOnlyList<string>> Headers(Dictionary<string, string> headers) =>
        name => headers.TryGetValue(name, out var value) ? [value] : [];

    private static Dictionary<string, string> Acs3Headers(byte[] body, string signedHeaders) => new()
    {
        ["authorization"] = $"ACS3-HMAC-SHA256 Credential=LTAIexample,SignedHeaders={signedHeaders},Signature=00",
        ["host"] = "127.0.0.1:5105",
        ["x-acs-action"] = "DescribeRegions",
        ["x-acs-version"] = "2014-05-26",
        ["x-acs-date"] = "2026-12-02T10:00:00Z",
        ["x-acs-signature-nonce"] = "n-1",
        ["x-acs-content-sha256"] = Convert.ToHexStringLower(SHA256.HashData(body)),
    };

    private const string AllSigned = "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version";

    [Fact]
    public void PercentEncodingIsRfc3986OverUtf8()
    {
        Assert.Equal("a%20b%2A~-_.%21%27%28%29%2F%3D%26", Percent.Encode("a b*~-_.!'()/=&"));
        Assert.Equal("%E6%97%A5%E6%9C%AC", Percent.Encode("日本"));
    }

    [Fact]
    public void Version1SignsTheSortedEncodedParametersWithoutTheSignature()
    {
        KeyValuePair<string, string>[] parameters =
        [
            new("Signature", "abc="), new("Action", "DescribeImages"), new("AccessKeyId", "LTAIexample"), new("SignatureMethod", "HMAC-SHA1"),
            new("SignatureVersion", "1.0"), new("SignatureNonce", "n-2"), new("Timestamp", "2026-12-02T10:00:00Z"), new("ImageName", "a b"),
        ];
        var signed = SignedRequest.Read("GET", "/", parameters, NoPairs, _ => [], []);
        Assert.Equal(SignatureAlgorithm.HmacSha1, signed.Algorithm);
        Assert.Equal(("LTAIexample", "abc=", "n-2"), (signed.AccessKeyId, signed.Signature, signed.Nonce));
        Assert.Equal("GET&%2F&" + Percent.Encode(
            "AccessKeyId=LTAIexample&Action=DescribeImages&ImageName=a%20b&SignatureMethod=HMAC-SHA1&SignatureNonce=n-2&SignatureVersion=1.0&Timestamp=2026-12-02T10%3A00%3A00Z"),
            signed.StringToSign);
    }

    [Fact]
    public void Acs3HashesTheCanonicalRequestOfTheSignedHeaders()
    {
        var headers = Acs3Headers([], AllSigned);
        var signed = SignedRequest.Read("POST", "/", [new("RegionId", "cn-hangzhou"), new("ImageName", "a b")], NoPairs, Headers(headers), []);
        var canonical = "POST\n/\nImageName=a%20b&RegionId=cn-hangzhou\n" +
            "host:127.0.0.1:5105\nx-acs-action:DescribeRegions\n" + $"x-acs-content-sha256:{headers["x-acs-content-sha256"]}\n" +
            "x-acs-date:2026-12-02T10:00:00Z\nx-acs-signature-nonce:n-1\nx-acs-version:2014-05-26\n\n" + AllSigned + "\n" + headers["x-acs-content-sha256"];
        Assert.Equal($"ACS3-HMAC-SHA256\n{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)))}", signed.StringToSign);
        Assert.Equal(new DateTimeOffset(2026, 12, 2, 10, 0, 0, TimeSpan.Zero), signed.Timestamp);
    }

    [Fact]
    public void Acs3MustSignTheNonceTheDateAndTheBody()
    {
        var unsignedNonce = Acs3Headers([], "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-version");
        Assert.Equal("IncompleteSignature", Assert.Throws<EcsException>(() => SignedRequest.Read("POST", "/", NoPairs, NoPairs, Headers(unsignedNonce), [])).Code);

        var otherBody = Acs3Headers(Encoding.UTF8.GetBytes("RegionId=cn-hangzhou"), AllSigned);
        var error = Assert.Throws<EcsException>(() => SignedRequest.Read("POST", "/", NoPairs, NoPairs, Headers(otherBody), Encoding.UTF8.GetBytes("RegionId=cn-beijing")));
        Assert.Equal(("SignatureDoesNotMatch", 400), (error.Code, error.HttpStatus));
    }

    [Fact]
    public void AnUnsignedOrMalformedRequestIsRefusedWithItsCode()
    {
        Assert.Equal("IncompleteSignature", Assert.Throws<EcsException>(() => SignedRequest.Read("GET", "/", [new("Action", "DescribeRegions")], NoPairs, _ => [], [])).Code);
        KeyValuePair<string, string>[] badTime =
        [
            new("Signature", "x"), new("AccessKeyId", "LTAIexample"), new("SignatureMethod", "HMAC-SHA1"), new("SignatureVersion", "1.0"), new("Timestamp", "yesterday"),
        ];
        Assert.Equal("InvalidTimeStamp.Format", Assert.Throws<EcsException>(() => SignedRequest.Read("GET", "/", badTime, NoPairs, _ => [], [])).Code);
    }

    [Fact]
    public void ParametersAreBoundedAndUnknownOnesRefused()
    {
        Assert.Equal("InvalidParameter", Assert.Throws<EcsException>(() => new EcsParameters([new("ImageId", "a"), new("ImageId", "b")])).Code);
        Assert.Throws<EcsException>(() => new EcsParameters([new("ImageName", new string('x', EcsParameters.MaxValueLength + 1))]));

        var accounts = new EcsParameters(Enumerable.Range(1, 101).Select(i => new KeyValuePair<string, string>($"AddAccount.{i}", $"{i}")));
        Assert.Throws<EcsException>(() => accounts.List("AddAccount"));

        var parameters = new EcsParameters([new("Action", "DeleteImage"), new("RegionId", "cn-hangzhou"), new("ImageId", "m-1"), new("Forse", "true")]);
        Assert.Equal("m-1", parameters.Required("ImageId"));
        Assert.False(parameters.Flag("Force"));
        var unknown = Assert.Throws<EcsException>(parameters.RefuseUnread);
        Assert.Contains("Forse", unknown.Message, StringComparison.Ordinal);
        Assert.Equal("MissingParameter", Assert.Throws<EcsException>(() => parameters.Required("InstanceId")).Code);
        Assert.Equal("InvalidParameter", Assert.Throws<EcsException>(() => new EcsParameters([new("PageSize", "-3")]).Number("PageSize", 10, 1, 100)).Code);
    }
}
