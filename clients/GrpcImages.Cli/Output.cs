using Google.Protobuf;
using Spectre.Console;

namespace GrpcImages.Cli;

/// <summary>Prints results as tables for people, or as protobuf JSON with --json for scripts.</summary>
public sealed class Output(TextWriter writer, bool json)
{
    private readonly IAnsiConsole _console = Console(writer);
    private readonly bool _terminal = ReferenceEquals(writer, System.Console.Out) && !System.Console.IsOutputRedirected;
    private string _lastProgress = "";

    /// <summary>Whether --json was given (a command printing several tables prints one document instead).</summary>
    public bool IsJson => json;

    public void Message(IMessage message, params (string Name, Func<string> Value)[] rows)
    {
        if (json)
        {
            writer.WriteLine(JsonFormatter.Default.Format(message));
            return;
        }
        var table = new Table().HideHeaders().AddColumns("", "");
        foreach (var (name, value) in rows)
        {
            table.AddRow(Markup.Escape(name), Markup.Escape(value()));
        }
        _console.Write(table);
    }

    /// <summary>What a create prints: the new resource's id alone (what a script captures), or the whole message with --json.</summary>
    public void Id(IMessage message, string id)
    {
        if (json)
        {
            writer.WriteLine(JsonFormatter.Default.Format(message));
            return;
        }
        writer.WriteLine(id);
    }

    public void List<T>(IReadOnlyList<T> items, IMessage page, params (string Header, Func<T, string> Value)[] columns)
    {
        if (json)
        {
            writer.WriteLine(JsonFormatter.Default.Format(page));
            return;
        }
        var table = new Table().AddColumns(columns.Select(c => c.Header).ToArray());
        foreach (var item in items)
        {
            table.AddRow(columns.Select(c => Markup.Escape(c.Value(item))).ToArray());
        }
        _console.Write(table);
    }

    public void Line(string text) => writer.WriteLine(text);

    /// <summary>A task's progress: redrawn in place on a terminal, a line per change otherwise (nothing with --json).</summary>
    public void Progress(string what, string status, int percent, long bytesDone, long bytesTotal, TimeSpan? left)
    {
        if (json)
        {
            return;
        }
        var key = $"{what}|{status}|{percent}";
        if (key == _lastProgress)
        {
            return; // a line per change of percent, not per message
        }
        _lastProgress = key;
        const int Width = 30;
        var filled = Math.Clamp(percent, 0, 100) * Width / 100;
        var line = $"{what}  {status,-11} [{new string('#', filled)}{new string('.', Width - filled)}] {percent,3}%  " +
                   $"{bytesDone / 1048576.0:F1}/{bytesTotal / 1048576.0:F1} MiB" + (left is { } l ? $"  {l.ToString(@"hh\:mm\:ss", System.Globalization.CultureInfo.InvariantCulture)} left" : "");
        if (_terminal)
        {
            writer.Write($"\r{line}");
        }
        else
        {
            writer.WriteLine(line);
        }
    }

    public void EndProgress()
    {
        if (_terminal && !json)
        {
            writer.WriteLine();
        }
    }

    private static IAnsiConsole Console(TextWriter writer)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Out = new AnsiConsoleOutput(writer),
        });
        console.Profile.Width = 1000; // tables take the width they need; terminals and pipes wrap or not as they like
        return console;
    }
}
