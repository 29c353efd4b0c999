namespace GrpcImages.Client;

/// <summary>Where the services are and how calls behave.</summary>
public sealed class GrpcImagesClientOptions
{
    /// <summary>The catalog service (images, instances, snapshots, regions).</summary>
    public Uri Catalog { get; set; } = new("http://127.0.0.1:5101");

    /// <summary>The transfer service (copies, imports, exports, tasks, the object store).</summary>
    public Uri Transfer { get; set; } = new("http://127.0.0.1:5102");

    /// <summary>The sharing service (shares and quotas).</summary>
    public Uri Sharing { get; set; } = new("http://127.0.0.1:5103");

    /// <summary>The kms service (accounts, RAM users, tokens, KMS keys, service roles).</summary>
    public Uri Kms { get; set; } = new("http://127.0.0.1:5104");

    /// <summary>Where tokens come from; none sends calls without one (only IssueToken with the operator's credential works then).</summary>
    public ITokenProvider? Tokens { get; set; }

    /// <summary>The deadline of a unary call that names none; null for none. Streams never get one by default.</summary>
    public TimeSpan? DefaultDeadline { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Attempts of a call that may be retried (reads, and writes that carry a client token) when it was UNAVAILABLE.</summary>
    public int MaxAttempts { get; set; } = 4;

    /// <summary>Whether creates without a client_token get a fresh one, so their retries cannot make a second resource (R35).</summary>
    public bool GenerateClientTokens { get; set; } = true;
}
