using GrpcImages.ServiceDefaults.Validation;

namespace GrpcImages.Sharing.Storage;

/// <summary>
/// The sharing service's Redis keys. An owner's share state and an account's quotas sit under the
/// account's slot tag {t} (the tag its resource ids carry), so a check and its grant are one script
/// that also runs on Redis Cluster. The recipient's index is under the recipient's tag and follows
/// the grants through an outbox. Organization grants (R37) sit beside the account grants, counted with
/// them; their recipients' index is kept per principal under the directory's id as its tag, so one
/// that gains or loses members changes nothing here (membership is kms's, read at each check).
/// <code>
/// - gi:share:{t}:grants:&lt;image&gt;                zset   recipient -> ms shared (R15: its size)
/// - gi:share:{t}:shared:&lt;owner&gt;                zset   image -> ms first shared (R14: its size)
/// - gi:share:{t}:ogrants:&lt;image&gt;              zset   organization principal (OrganizationPrincipal) -> ms shared (R37; counted in R15)
/// - gi:share:{t}:osite:&lt;image&gt;                string the owner's site, for a marketplace-derived image with organization grants (R18: members of other sites are not reached)
/// - gi:share:{t}:where:&lt;image&gt;                 string the region of a shared image
/// - gi:share:{t}:limits:&lt;account&gt;              hash   raised limits: images:&lt;region&gt;, shared_images, accounts_per_image
/// - gi:share:{t}:iq:&lt;account&gt;:&lt;region&gt;         set    holders (image ids) of the custom-image quota (R3)
/// - gi:share:{t}:outbox:&lt;owner&gt;                list   recipient-index changes still to apply: "+|recipient|region|owner|image|ms", "-|..." (OutboxEntry); the recipient an account or an organization principal
/// - gi:share:{t}:drain:&lt;owner&gt;                 string the replica applying the owner's outbox now (a 5 s lease)
/// - gi:share:{t}:audit:&lt;owner&gt;                 stream every grant and revoke of the owner's images
/// - gi:share:{t}:req:&lt;request&gt;                 string QuotaRequest (protobuf)
/// - gi:share:{t}:reqs:&lt;account&gt;                zset   the account's quota requests -> ms
/// - gi:share:{t}:ct:&lt;account&gt;:&lt;scope&gt;:&lt;token&gt;  string "fingerprint|id" for 24 h (R35)
/// - gi:share:{r}:recv:&lt;recipient&gt;:&lt;region&gt;    zset   "owner|image" (ReceivedMember) -> ms shared, under the recipient's tag {r}
/// - gi:share:{r}:resent:&lt;recipient&gt;:&lt;region&gt;  string set for a minute when the recipient's grants were handed to the catalog again
/// - gi:share:{rd}:orecv:&lt;principal&gt;:&lt;region&gt;  zset   "owner|image" -> ms shared with the organization principal, under its directory's id {rd}
/// - gi:share:{requests}:all                   zset   every quota request id -> ms (for operators)
/// - gi:share:{q:outbox}:*                     queue  owners whose outbox may hold changes (WorkQueue), queued before each grant change
/// </code>
/// </summary>
public static class SharingKeys
{
    public static string Prefix(string account) => $"gi:share:{{{ResourceIds.OwnerTag(account)}}}:";

    public static string Grants(string owner, string imageId) => $"{Prefix(owner)}grants:{imageId}";
    public static string Shared(string owner) => $"{Prefix(owner)}shared:{owner}";
    public static string OrganizationGrants(string owner, string imageId) => $"{Prefix(owner)}ogrants:{imageId}";
    public static string OrganizationSite(string owner, string imageId) => $"{Prefix(owner)}osite:{imageId}";
    public static string Where(string owner, string imageId) => $"{Prefix(owner)}where:{imageId}";
    public static string Limits(string account) => $"{Prefix(account)}limits:{account}";
    public static string ImageQuota(string account, string region) => $"{Prefix(account)}iq:{account}:{region}";
    public static string Outbox(string owner) => $"{Prefix(owner)}outbox:{owner}";
    public static string OutboxDrain(string owner) => $"{Prefix(owner)}drain:{owner}";
    public static string Audit(string owner) => $"{Prefix(owner)}audit:{owner}";
    public static string Request(string requestId) => $"gi:share:{{{ResourceIds.TagOf(requestId)}}}:req:{requestId}";
    public static string Requests(string account) => $"{Prefix(account)}reqs:{account}";
    public static string ClientToken(string account, string scope, string token) => $"{Prefix(account)}ct:{account}:{scope}:{token}";
    public static string Received(string recipient, string region) => $"{Prefix(recipient)}recv:{recipient}:{region}";
    public static string Resent(string recipient, string region) => $"{Prefix(recipient)}resent:{recipient}:{region}";

    /// <summary>The recipients' index of an organization principal (R37), tagged by its directory.</summary>
    public static string OrganizationReceived(OrganizationPrincipal principal, string region) =>
        $"gi:share:{{{principal.DirectoryId}}}:orecv:{principal.Format()}:{region}";

    /// <summary>The index an outbox entry's recipient keeps: an account's, or an organization principal's.</summary>
    public static string ReceivedBy(string recipient, string region) =>
        OrganizationPrincipal.IsPrincipal(recipient) ? OrganizationReceived(OrganizationPrincipal.Parse(recipient), region) : Received(recipient, region);

    public const string Root = "gi:share:";
    public const string AllRequests = "gi:share:{requests}:all";
}
