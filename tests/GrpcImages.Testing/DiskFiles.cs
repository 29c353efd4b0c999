using System.Diagnostics;
using System.Security.Cryptography;
using GrpcImages.Transfer.Formats;

namespace GrpcImages.Testing;

/// <summary>Disk image files made for tests with qemu-img (Debian's qemu-utils): raw bytes in any format qemu-img writes.</summary>
public static class DiskFiles
{
    /// <summary>Random bytes with zeros in the middle (a hole the formats keep sparse), <paramref name="mib"/> MiB in all.</summary>
    public static byte[] RawBytes(int mib, int seed)
    {
        var bytes = new byte[mib * 1024 * 1024];
        new Random(seed).NextBytes(bytes);
        Array.Clear(bytes, bytes.Length / 2, Math.Min(1024 * 1024, bytes.Length / 4));
        return bytes;
    }

    /// <summary>Writes <paramref name="raw"/> as a file of the qemu-img format ("raw", "qcow2", "vpc", "vmdk"); returns its path.</summary>
    public static string Make(string directory, byte[] raw, string format, params string[] options)
    {
        Directory.CreateDirectory(directory);
        var rawPath = Path.Combine(directory, $"{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}.raw");
        File.WriteAllBytes(rawPath, raw);
        if (format == "raw")
        {
            return rawPath;
        }
        var path = Path.ChangeExtension(rawPath, format);
        QemuImg(["convert", "-f", "raw", "-O", format, .. options.SelectMany(o => new[] { "-o", o }), rawPath, path]);
        File.Delete(rawPath);
        return path;
    }

    /// <summary>Runs qemu-img and returns what it printed (fails the test when it fails).</summary>
    public static string QemuImg(IReadOnlyList<string> args)
    {
        var start = new ProcessStartInfo("qemu-img") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd();
        var errors = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0 ? output : throw new InvalidOperationException($"qemu-img {string.Join(' ', args)} failed: {errors}");
    }
}
