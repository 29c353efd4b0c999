using System.Globalization;
using System.Security.Claims;
using GrpcImages.Contracts.Kms.V1;
using Microsoft.AspNetCore.Authentication.Cookies;

namespace GrpcImages.Console.Sessions;

/// <summary>
/// What a session's cookie carries: who signed in, the pair they signed in with, and the token the console calls
/// the services with (renewed while the session is used). The cookie is encrypted with the console's key ring and
/// HttpOnly: none of it reaches a page's HTML or scripts.
/// </summary>
public sealed record SessionClaims(PrincipalKind Kind, string AccountId, string Name, string AccessKeyId, string Token, DateTimeOffset Expires)
{
    private const string KindType = "gi:kind";
    private const string AccountType = "gi:account";
    private const string NameType = "gi:name";
    private const string AccessKeyType = "gi:akid";
    private const string TokenType = "gi:token";
    private const string ExpiresType = "gi:expires";

    public bool IsOperator => Kind == PrincipalKind.Operator;

    /// <summary>How the page names the principal: "1234567890123456", "1234567890123456/alice", "operator admin".</summary>
    public string DisplayName => Kind switch
    {
        PrincipalKind.Operator => $"operator {Name}",
        PrincipalKind.RamUser => $"{AccountId}/{Name}",
        _ => AccountId,
    };

    public static SessionClaims From(Principal principal, string accessKeyId, string token, DateTimeOffset expires) =>
        new(principal.Kind, principal.AccountId, principal.Name, accessKeyId, token, expires);

    public SessionClaims Renewed(string token, DateTimeOffset expires) => this with { Token = token, Expires = expires };

    public ClaimsPrincipal ToPrincipal() => new(new ClaimsIdentity(
    [
        new Claim(ClaimTypes.Name, DisplayName),
        new Claim(KindType, ((int)Kind).ToString(CultureInfo.InvariantCulture)),
        new Claim(AccountType, AccountId),
        new Claim(NameType, Name),
        new Claim(AccessKeyType, AccessKeyId),
        new Claim(TokenType, Token),
        new Claim(ExpiresType, Expires.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)),
    ], CookieAuthenticationDefaults.AuthenticationScheme));

    /// <summary>The session a signed-in principal carries, or null for anyone else.</summary>
    public static SessionClaims? Read(ClaimsPrincipal? user)
    {
        if (user?.Identity?.IsAuthenticated != true || user.FindFirst(TokenType)?.Value is not { Length: > 0 } token
            || !int.TryParse(user.FindFirst(KindType)?.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var kind)
            || !long.TryParse(user.FindFirst(ExpiresType)?.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var expires))
        {
            return null;
        }
        return new SessionClaims((PrincipalKind)kind, user.FindFirst(AccountType)?.Value ?? "", user.FindFirst(NameType)?.Value ?? "",
            user.FindFirst(AccessKeyType)?.Value ?? "", token, DateTimeOffset.FromUnixTimeSeconds(expires));
    }
}
