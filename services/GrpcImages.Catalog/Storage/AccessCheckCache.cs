using GrpcImages.ServiceDefaults.Redis;
using StackExchange.Redis;

namespace GrpcImages.Catalog.Storage;

/// <summary>The sharing service's answers to access checks, kept until the image's grants change.</summary>
public interface IAccessCheckCache
{
    /// <summary>The kept answer for (image, owner:account), or what <paramref name="check"/> says (then kept).</summary>
    ValueTask<bool> GetAsync(string imageId, string ownerAndAccount, Func<ValueTask<bool>> check);
}

/// <summary>
/// Access checks dropped on the sharing service's announcements (<see cref="Channels.GrantsChanged"/>, Redis
/// pub/sub): every replica forgets an image's checks as soon as its grants change, and every check at once when
/// kms announces a change of membership (<see cref="Channels.MembershipChanged"/>: organization grants follow it,
/// R37); it trusts one at most <paramref name="maxAge"/> (the bound on an announcement lost while disconnected).
/// </summary>
public sealed class AnnouncedAccessChecks(IConnectionMultiplexer redis, TimeSpan maxAge, TimeProvider time) : IAccessCheckCache
{
    private readonly AnnouncedCache<bool> _checks = new(redis, Channels.GrantsChanged, maxAge, time, forgetAllOn: Channels.MembershipChanged);

    public ValueTask<bool> GetAsync(string imageId, string ownerAndAccount, Func<ValueTask<bool>> check) =>
        _checks.GetAsync(imageId, ownerAndAccount, check);
}
