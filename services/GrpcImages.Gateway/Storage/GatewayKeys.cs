namespace GrpcImages.Gateway.Storage;

/// <summary>
/// The gateway's Redis keys, every one of them: it keeps no state but the nonces of signed
/// requests (<see cref="Signatures.NonceGuard"/>), each under its AccessKey's id as hash tag.
/// <code>
/// - gi:gw:{&lt;access key id&gt;}:nonce:&lt;nonce&gt;   string  "1": the AccessKey's nonce was used; kept for twice the allowed clock skew (30 min)
/// </code>
/// </summary>
public static class GatewayKeys
{
    public const string Root = "gi:gw:";

    public static string Nonce(string accessKeyId, string nonce) => $"{Root}{{{accessKeyId}}}:nonce:{nonce}";
}
