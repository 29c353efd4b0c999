using System.Globalization;

namespace GrpcImages.Testing;

/// <summary>
/// Temporary directories of test runs (a cluster's data, a Redis's files), each marked with the process that made it
/// and the processes it started there. A test host does not wait at exit for the shared cluster's clean-up, so a run
/// leaves them behind (1-2 GB each, and a redis-server now and then); the first directory a later run makes removes
/// every marked one whose maker is gone, stopping what it started first.
/// </summary>
public static class ScratchDirectory
{
    private const string Marker = ".gi-owner";
    private static readonly Lazy<int> Swept = new(() => Sweep(Path.GetTempPath()));

    /// <summary>A new directory under the temporary folder, named <paramref name="prefix"/> and a random suffix, marked as this process's.</summary>
    public static string Create(string prefix)
    {
        _ = Swept.Value;
        var directory = Directory.CreateTempSubdirectory(prefix).FullName;
        File.WriteAllText(Path.Combine(directory, Marker), $"{Identity(Environment.ProcessId)}\n");
        return directory;
    }

    /// <summary>Records that <paramref name="pid"/> (a redis-server) works in <paramref name="directory"/>: it is stopped with it.</summary>
    public static void Adopt(string directory, int pid)
    {
        var marker = Path.Combine(directory, Marker);
        if (File.Exists(marker) && Identity(pid) is { Length: > 0 } child)
        {
            File.AppendAllText(marker, $"{child}\n");
        }
    }

    /// <summary>
    /// Deletes a directory made by <see cref="Create"/>, its mark last: a clean-up cut short (the test host ends the
    /// process while it runs) leaves a marked directory the next run removes. Errors leave it to that run too.
    /// </summary>
    public static void Delete(string directory)
    {
        try
        {
            foreach (var entry in new DirectoryInfo(directory).EnumerateFileSystemInfos())
            {
                if (entry is DirectoryInfo folder)
                {
                    folder.Delete(recursive: true);
                }
                else if (entry.Name != Marker)
                {
                    entry.Delete();
                }
            }
            Directory.Delete(directory, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Removes the marked directories under <paramref name="root"/> whose maker has exited; returns how many.</summary>
    public static int Sweep(string root)
    {
        var removed = 0;
        foreach (var directory in Directory.EnumerateDirectories(root, "gi-*"))
        {
            var marker = Path.Combine(directory, Marker);
            string[] lines;
            try
            {
                lines = File.ReadAllLines(marker);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                continue; // not ours, or not marked
            }
            if (lines.Length == 0 || IsAlive(lines[0]))
            {
                continue;
            }
            foreach (var child in lines.Skip(1).Where(IsAlive))
            {
                try
                {
                    using var process = System.Diagnostics.Process.GetProcessById(int.Parse(child.Split(' ')[0], CultureInfo.InvariantCulture));
                    process.Kill();
                    process.WaitForExit(5000);
                }
                catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
                {
                }
            }
            try
            {
                Directory.Delete(directory, recursive: true);
                removed++;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
            }
        }
        return removed;
    }

    /// <summary>"pid start-time": the start time (from /proc) tells a process from a later one given the same pid.</summary>
    public static string Identity(int pid) => StartTime(pid) is { } start ? $"{pid} {start}" : "";

    private static bool IsAlive(string identity)
    {
        var parts = identity.Split(' ');
        return parts.Length == 2 && int.TryParse(parts[0], CultureInfo.InvariantCulture, out var pid) && StartTime(pid) == parts[1];
    }

    private static string? StartTime(int pid)
    {
        try
        {
            // Field 22 of /proc/<pid>/stat; the command name (field 2) may hold spaces, so count from its closing parenthesis.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[19];
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or IndexOutOfRangeException or ArgumentOutOfRangeException)
        {
            return null;
        }
    }
}
