using System.Buffers.Binary;
using System.Text;
using System.Text.RegularExpressions;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.ServiceDefaults.Errors;

namespace GrpcImages.Transfer.Formats;

/// <summary>A disk image file's format as its bytes say, and its virtual size when the header gives one.</summary>
public sealed record DetectedFormat(DiskImageFormat Format, long VirtualSize);

/// <summary>
/// Reads a disk image's format from its content (R25), never from its name and never left to qemu-img
/// to guess: QCOW2 by its magic, VMDK by its sparse-extent magic, VHD by its "conectix" footer, ISO 9660
/// by its volume descriptor, RAW otherwise. What could make qemu-img read another file of the host is
/// refused here: QCOW2 backing or external data files, VHD differencing disks, VMDK descriptors naming
/// extents other than the file itself.
/// </summary>
public static partial class DiskFormats
{
    /// <summary>How much of the file's start the checks need (the ISO volume descriptor sits at 32 KiB).</summary>
    public const int HeadBytes = 64 * 1024;

    /// <summary>How much of the file's end (the VHD footer).</summary>
    public const int TailBytes = 512;

    private const uint QcowMagic = 0x514649fb; // "QFI\xfb"
    private const ulong QcowExternalDataFile = 1 << 2;
    private const uint VmdkMagic = 0x564d444b; // "KDMV" read little-endian
    private static readonly byte[] VhdCookie = "conectix"u8.ToArray();
    private static readonly byte[] VhdxSignature = "vhdxfile"u8.ToArray();
    private static readonly byte[] IsoSignature = "CD001"u8.ToArray();

    /// <summary>Detects the format; throws InvalidImageFormat.Malformed for a file that must not be imported.</summary>
    public static DetectedFormat Detect(ReadOnlySpan<byte> head, ReadOnlySpan<byte> tail, long size)
    {
        if (head.Length >= 4 && BinaryPrimitives.ReadUInt32BigEndian(head) == QcowMagic)
        {
            return Qcow2(head);
        }
        if (head.Length >= 4 && BinaryPrimitives.ReadUInt32LittleEndian(head) == VmdkMagic)
        {
            return Vmdk(head);
        }
        if (head.StartsWith("# Disk DescriptorFile"u8))
        {
            throw Malformed("This VMDK is only a descriptor: its data is in other files. Convert it to a single file (monolithicSparse or streamOptimized) first.");
        }
        if (head.StartsWith(VhdxSignature))
        {
            throw Malformed("VHDX is not supported: convert the file to RAW, VHD or QCOW2 first.");
        }
        if (tail.Length == TailBytes && tail.StartsWith(VhdCookie))
        {
            return Vhd(tail);
        }
        if (head.StartsWith(VhdCookie) && size >= TailBytes)
        {
            return Vhd(head[..TailBytes]); // a dynamic disk's footer copy at the start; its end was cut
        }
        foreach (var offset in new[] { 0x8001, 0x8801, 0x9001 })
        {
            if (head.Length >= offset + 5 && head.Slice(offset, 5).SequenceEqual(IsoSignature))
            {
                throw Malformed("ISO files cannot be imported: convert it to RAW, VHD or QCOW2 first.");
            }
        }
        return new DetectedFormat(DiskImageFormat.Raw, size);
    }

    /// <summary>A declared format must be what the content is (R25).</summary>
    public static void RequireDeclared(DiskImageFormat declared, DetectedFormat detected)
    {
        if (declared != DiskImageFormat.Unspecified && declared != detected.Format)
        {
            throw Malformed($"The file was declared {Name(declared)} but its content is {Name(detected.Format)}.");
        }
    }

    /// <summary>The name qemu-img uses for a format.</summary>
    public static string QemuName(DiskImageFormat format) => format switch
    {
        DiskImageFormat.Raw => "raw",
        DiskImageFormat.Qcow2 => "qcow2",
        DiskImageFormat.Vhd => "vpc",
        DiskImageFormat.Vmdk => "vmdk",
        _ => throw new ArgumentOutOfRangeException(nameof(format)),
    };

    public static string Name(DiskImageFormat format) => format switch
    {
        DiskImageFormat.Raw => "RAW",
        DiskImageFormat.Qcow2 => "QCOW2",
        DiskImageFormat.Vhd => "VHD",
        DiskImageFormat.Vmdk => "VMDK",
        _ => format.ToString(),
    };

    /// <summary>The file name extension of an exported disk.</summary>
    public static string Extension(DiskImageFormat format) => format switch
    {
        DiskImageFormat.Qcow2 => "qcow2",
        DiskImageFormat.Vhd => "vhd",
        _ => "raw",
    };

    public static DomainException Malformed(string message) => Fault.InvalidArgument("InvalidImageFormat.Malformed", "format", message);

    private static DetectedFormat Qcow2(ReadOnlySpan<byte> head)
    {
        if (head.Length < 72)
        {
            throw Malformed("The QCOW2 header is cut short.");
        }
        var version = BinaryPrimitives.ReadUInt32BigEndian(head[4..]);
        if (version is not (2 or 3))
        {
            throw Malformed($"QCOW2 version {version} is not supported.");
        }
        if (BinaryPrimitives.ReadUInt64BigEndian(head[8..]) != 0 || BinaryPrimitives.ReadUInt32BigEndian(head[16..]) != 0)
        {
            throw Malformed("The QCOW2 file has a backing file: import the whole image (qemu-img convert it to a standalone file) instead.");
        }
        if (version == 3 && head.Length >= 80 && (BinaryPrimitives.ReadUInt64BigEndian(head[72..]) & QcowExternalDataFile) != 0)
        {
            throw Malformed("The QCOW2 file keeps its data in an external file: import a standalone file instead.");
        }
        return new DetectedFormat(DiskImageFormat.Qcow2, (long)BinaryPrimitives.ReadUInt64BigEndian(head[24..]));
    }

    private static DetectedFormat Vmdk(ReadOnlySpan<byte> head)
    {
        if (head.Length < 512)
        {
            throw Malformed("The VMDK header is cut short.");
        }
        var capacity = (long)BinaryPrimitives.ReadUInt64LittleEndian(head[12..]) * 512;
        var descriptorOffset = (long)BinaryPrimitives.ReadUInt64LittleEndian(head[28..]) * 512;
        var descriptorSize = (long)BinaryPrimitives.ReadUInt64LittleEndian(head[36..]) * 512;
        if (descriptorOffset == 0 || descriptorSize == 0)
        {
            // A stream-optimized file may keep its descriptor elsewhere; qemu reads only this file for it.
            return new DetectedFormat(DiskImageFormat.Vmdk, capacity);
        }
        if (descriptorOffset + descriptorSize > head.Length || descriptorSize > 64 * 1024)
        {
            throw Malformed("The VMDK descriptor lies outside the part of the file that is checked.");
        }
        var descriptor = Encoding.ASCII.GetString(head.Slice((int)descriptorOffset, (int)descriptorSize)).TrimEnd('\0');
        var type = CreateType().Match(descriptor);
        if (!type.Success || type.Groups[1].Value is not ("monolithicSparse" or "streamOptimized"))
        {
            throw Malformed("Only single-file VMDKs (monolithicSparse or streamOptimized) can be imported.");
        }
        var extents = Extent().Matches(descriptor);
        if (extents.Count != 1 || extents[0].Groups[1].Value != "SPARSE")
        {
            throw Malformed("The VMDK names extents outside the file: convert it to a single file first.");
        }
        if (Parent().Match(descriptor) is { Success: true } parent && parent.Groups[1].Value.Trim('"').Length > 0)
        {
            throw Malformed("The VMDK is a delta of a parent disk: import the whole image instead.");
        }
        return new DetectedFormat(DiskImageFormat.Vmdk, capacity);
    }

    private static DetectedFormat Vhd(ReadOnlySpan<byte> footer)
    {
        var type = BinaryPrimitives.ReadUInt32BigEndian(footer[60..]);
        if (type == 4)
        {
            throw Malformed("The VHD is a differencing disk of a parent: import the whole image instead.");
        }
        if (type is not (2 or 3))
        {
            throw Malformed($"VHD disk type {type} is not supported.");
        }
        return new DetectedFormat(DiskImageFormat.Vhd, (long)BinaryPrimitives.ReadUInt64BigEndian(footer[48..]));
    }

    [GeneratedRegex("^createType=\"([^\"]*)\"", RegexOptions.Multiline)]
    private static partial Regex CreateType();

    [GeneratedRegex("^(?:RW|RDONLY|NOACCESS)\\s+\\d+\\s+(\\w+)", RegexOptions.Multiline)]
    private static partial Regex Extent();

    [GeneratedRegex("^parentFileNameHint=(.*)$", RegexOptions.Multiline)]
    private static partial Regex Parent();
}
