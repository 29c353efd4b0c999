namespace GrpcImages.Console;

/// <summary>"Console" settings.</summary>
public sealed class ConsoleOptions
{
    public const string Section = "Console";

    /// <summary>The port the pages are served on (HTTP/1.1 and HTTP/2; 0: the kernel picks, see <see cref="HttpPortFile"/>).</summary>
    public int HttpPort { get; set; } = 5110;

    /// <summary>Where to write the pages' port once listening (tests and scripts that pass port 0).</summary>
    public string? HttpPortFile { get; set; }

    /// <summary>How long a session's token lasts before it is renewed (renewed while the session is used, at most an hour).</summary>
    public TimeSpan SessionTokenLifetime { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How long a session lasts without being used before it must sign in again.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Failed sign-ins one client address may make in a minute before its tries are refused for the rest of it.</summary>
    public int SignInFailuresPerMinute { get; set; } = 10;

    /// <summary>How long an upload from a browser may wait for its next piece before it is given up.</summary>
    public TimeSpan UploadIdleTimeout { get; set; } = TimeSpan.FromMinutes(10);
}
