using Grpc.Core;
using GrpcImages.Client;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;

namespace GrpcImages.Console.Sessions;

/// <summary>
/// Checks a session's cookie on each request: an expired token ends the session; one past half its life is renewed
/// (and the cookie written again); a renewal kms refuses (the pair disabled or deleted, the user deleted) ends it.
/// </summary>
public sealed partial class SessionCookieEvents(SessionSignIn signIn, TimeProvider time, ILogger<SessionCookieEvents> logger) : CookieAuthenticationEvents
{
    public override async Task ValidatePrincipal(CookieValidatePrincipalContext context)
    {
        var session = SessionClaims.Read(context.Principal);
        var now = time.GetUtcNow();
        if (session is null || session.Expires <= now)
        {
            await EndAsync(context);
            return;
        }
        if (!signIn.IsDue(session, now))
        {
            return;
        }
        try
        {
            context.ReplacePrincipal((await signIn.RenewAsync(session, context.HttpContext.RequestAborted)).ToPrincipal());
            context.ShouldRenew = true;
        }
        catch (GrpcImagesException refused) when (refused.StatusCode is StatusCode.Unauthenticated or StatusCode.PermissionDenied or StatusCode.NotFound)
        {
            LogEnded(session.DisplayName, refused.Reason);
            await EndAsync(context);
        }
        catch (GrpcImagesException)
        {
            // kms away: the token still works for a while; the next request tries again.
        }
    }

    private static async Task EndAsync(CookieValidatePrincipalContext context)
    {
        context.RejectPrincipal();
        await context.HttpContext.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "The session of {Principal} ended: its renewal was refused ({Reason})")]
    private partial void LogEnded(string principal, string reason);
}
