using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;

namespace GrpcImages.Console.Sessions;

public static class SessionEndpoints
{
    /// <summary>Sign-out (a form post, so antiforgery applies) and the keep-alive a page sends while it is used.</summary>
    public static WebApplication MapSessionEndpoints(this WebApplication app)
    {
        app.MapPost("/signout", async (HttpContext context, [Microsoft.AspNetCore.Mvc.FromForm] string? back) =>
        {
            await context.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
            return Results.LocalRedirect("/signin");
        });
        // Validating the cookie renews its token when due (SessionCookieEvents): a page in use keeps its session alive.
        app.MapPost("/session/keepalive", (HttpContext context) =>
            context.User.Identity?.IsAuthenticated == true ? Results.NoContent() : Results.Unauthorized()).RequireAuthorization();
        return app;
    }
}
