using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Google.Protobuf.WellKnownTypes;
using GrpcImages.Contracts.Kms.V1;

namespace GrpcImages.Client;

/// <summary>
/// Signing in with an AccessKey pair (kms SignIn): the pair's id, the time and a nonce signed with the secret,
/// so the secret itself never leaves the process that was given it.
/// </summary>
public static class AccessKeySignIn
{
    /// <summary>A signed SignIn request for the pair, made now (or at <paramref name="now"/>).</summary>
    public static SignInRequest Request(string accessKeyId, string secret, TimeSpan? ttl = null, DateTimeOffset? now = null)
    {
        var seconds = (now ?? DateTimeOffset.UtcNow).ToUnixTimeSeconds();
        var nonce = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var signed = $"grpcimages-sign-in\n{accessKeyId}\n{seconds.ToString(CultureInfo.InvariantCulture)}\n{nonce}";
        return new SignInRequest
        {
            AccessKeyId = accessKeyId,
            TimestampSeconds = seconds,
            Nonce = nonce,
            Signature = Convert.ToBase64String(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(signed))),
            Ttl = ttl is null ? null : Duration.FromTimeSpan(ttl.Value),
        };
    }
}
