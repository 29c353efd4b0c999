namespace GrpcImages.Transfer.Tasks;

/// <summary>Scratch files of tasks under "&lt;Data:Directory&gt;/scratch", named by task (so what a dead worker left is found and removed).</summary>
public sealed class Scratch(IConfiguration configuration)
{
    private readonly string _directory = Path.Combine(Path.GetFullPath(configuration["Data:Directory"] ?? "."), "scratch");

    public string PathOf(string taskId, string name)
    {
        Directory.CreateDirectory(_directory);
        return Path.Combine(_directory, $"{taskId}.{name}");
    }

    public void Clear(string taskId)
    {
        if (Directory.Exists(_directory))
        {
            foreach (var file in Directory.EnumerateFiles(_directory, $"{taskId}.*"))
            {
                File.Delete(file);
            }
        }
    }
}
