namespace GrpcImages.Console.Sessions;

/// <summary>
/// Whether the cluster answered the page's last call, for the banner a page shows while a service is down. While it
/// is down the layout checks every few seconds, and when it answers again the pages reload what they show.
/// </summary>
public sealed class ServiceStatus
{
    public bool IsDown { get; private set; }

    /// <summary>Raised when the cluster answers again after being down.</summary>
    public event Func<Task>? Recovered;

    public event Action? Changed;

    /// <summary>Whether the page has loaded what it shows once (the layout marks the page as ready for its user then).</summary>
    public bool PageLoaded { get; private set; }

    public void Loaded()
    {
        if (!PageLoaded)
        {
            PageLoaded = true;
            Changed?.Invoke();
        }
    }

    public void Down()
    {
        if (!IsDown)
        {
            IsDown = true;
            Changed?.Invoke();
        }
    }

    public async Task UpAsync()
    {
        if (IsDown)
        {
            IsDown = false;
            Changed?.Invoke();
            if (Recovered is { } recovered)
            {
                foreach (var handler in recovered.GetInvocationList().Cast<Func<Task>>())
                {
                    await handler();
                }
            }
        }
    }
}
