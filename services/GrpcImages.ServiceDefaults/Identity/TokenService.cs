using System.Collections.Concurrent;
using System.Security.Claims;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.ServiceDefaults.Errors;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace GrpcImages.ServiceDefaults.Identity;

/// <summary>
/// Issues and checks the cluster's tokens: JWTs signed (HS256) with the cluster key, checked
/// in every service without a network hop. Valid tokens are cached until they expire, so a
/// hot path pays one dictionary lookup rather than a signature check per call.
/// </summary>
public sealed class TokenService
{
    private const int MaxCachedTokens = 100_000;
    private static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(30);

    private readonly JsonWebTokenHandler _handler = new() { SetDefaultTimesOnTokenCreation = false };
    private readonly SigningCredentials _credentials;
    private readonly TokenValidationParameters _parameters;
    private readonly IdentityOptions _options;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, (Caller Caller, DateTimeOffset Expires)> _cache = new(StringComparer.Ordinal);

    public TokenService(IOptions<IdentityOptions> options, TimeProvider time)
    {
        _options = options.Value;
        _time = time;
        var key = new SymmetricSecurityKey(_options.LoadSigningKey());
        _credentials = new SigningCredentials(key, SecurityAlgorithms.HmacSha256);
        _parameters = new TokenValidationParameters
        {
            IssuerSigningKey = key,
            ValidIssuer = _options.Issuer,
            ValidAudience = _options.Audience,
            ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
            ClockSkew = ClockSkew,
            LifetimeValidator = (notBefore, expires, _, _) => ValidLifetime(notBefore, expires),
        };
    }

    public string Issue(Caller principal, TimeSpan lifetime, out DateTimeOffset expires)
    {
        var now = _time.GetUtcNow();
        expires = now + lifetime;
        var claims = new Dictionary<string, object>
        {
            ["knd"] = KindName(principal.Kind),
            ["jti"] = Guid.NewGuid().ToString("N"),
        };
        if (principal.AccountId.Length > 0)
        {
            claims["acct"] = principal.AccountId;
            claims["site"] = principal.Site.ToString().ToUpperInvariant();
        }
        if (principal.Name.Length > 0)
        {
            claims["name"] = principal.Name;
        }
        if (principal.Kind == PrincipalKind.RamUser)
        {
            claims["act"] = principal.AllowedActions.ToArray();
            claims["ver"] = principal.Version;
        }
        if (principal.AccessKeyId.Length > 0)
        {
            claims["akid"] = principal.AccessKeyId;
        }
        return _handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = _options.Issuer,
            Audience = _options.Audience,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = expires.UtcDateTime,
            Claims = claims,
            SigningCredentials = _credentials,
        });
    }

    /// <summary>Checks a token and returns its principal, or throws UNAUTHENTICATED.</summary>
    public async ValueTask<Caller> ValidateAsync(string token)
    {
        if (_cache.TryGetValue(token, out var hit))
        {
            if (hit.Expires > _time.GetUtcNow())
            {
                return hit.Caller;
            }
            _cache.TryRemove(token, out _);
            throw Expired();
        }

        var result = await _handler.ValidateTokenAsync(token, _parameters);
        if (!result.IsValid)
        {
            throw result.Exception switch
            {
                SecurityTokenExpiredException or SecurityTokenInvalidLifetimeException => Expired(),
                SecurityTokenSignatureKeyNotFoundException or SecurityTokenInvalidSignatureException =>
                    Fault.Unauthenticated("InvalidSecurityToken.MismatchWithSignature", "The token's signature is not valid."),
                _ => Fault.Unauthenticated("InvalidSecurityToken.Malformed", "The token is malformed or was not issued by this cluster."),
            };
        }

        var jwt = (JsonWebToken)result.SecurityToken;
        var caller = ToCaller(result.ClaimsIdentity);
        if (_cache.Count >= MaxCachedTokens)
        {
            _cache.Clear();
        }
        _cache[token] = (caller, new DateTimeOffset(jwt.ValidTo, TimeSpan.Zero));
        return caller;
    }

    private bool ValidLifetime(DateTime? notBefore, DateTime? expires)
    {
        var now = _time.GetUtcNow().UtcDateTime;
        if (expires is null || expires.Value.Add(ClockSkew) < now)
        {
            throw new SecurityTokenExpiredException("expired");
        }
        return notBefore is null || notBefore.Value.Subtract(ClockSkew) <= now;
    }

    private static DomainException Expired() =>
        Fault.Unauthenticated("InvalidSecurityToken.Expired", "The token has expired; request a new one.");

    private static Caller ToCaller(ClaimsIdentity identity)
    {
        string Claim(string type) => identity.FindFirst(type)?.Value ?? "";
        var site = Claim("site") switch
        {
            "CN" => Site.Cn,
            "INTL" => Site.Intl,
            "JP" => Site.Jp,
            _ => Site.Unspecified,
        };
        var kind = Claim("knd") switch
        {
            "root" => PrincipalKind.AccountRoot,
            "ram" => PrincipalKind.RamUser,
            "operator" => PrincipalKind.Operator,
            "service" => PrincipalKind.Service,
            _ => throw Fault.Unauthenticated("InvalidSecurityToken.Malformed", "The token names no known kind of principal."),
        };
        var actions = identity.FindAll("act").Select(c => c.Value).ToArray();
        var caller = new Caller(kind, Claim("acct"), Claim("name"), site, actions) { Version = Claim("ver"), AccessKeyId = Claim("akid") };
        if (caller.IsAccount && caller.AccountId.Length != 16)
        {
            throw Fault.Unauthenticated("InvalidSecurityToken.Malformed", "The token names no valid account.");
        }
        return caller;
    }

    private static string KindName(PrincipalKind kind) => kind switch
    {
        PrincipalKind.AccountRoot => "root",
        PrincipalKind.RamUser => "ram",
        PrincipalKind.Operator => "operator",
        PrincipalKind.Service => "service",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };
}
