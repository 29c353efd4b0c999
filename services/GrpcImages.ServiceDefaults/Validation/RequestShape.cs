using System.Collections;
using System.Collections.Concurrent;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.ServiceDefaults.Errors;

namespace GrpcImages.ServiceDefaults.Validation;

/// <summary>
/// Bounds every request has whatever its method: no string longer than <see cref="MaxStringLength"/>
/// (or the field's own <c>(grpcimages.common.v1.max_length)</c>) and no enum value the schema does not name (proto3 keeps unknown numbers, so 777 would reach
/// the domain as an Architecture). Methods check their own tighter bounds on top. The fields to
/// visit are worked out once per message type; a type with none costs nothing.
/// </summary>
public static class RequestShape
{
    public const int MaxStringLength = 8192;

    private static readonly ConcurrentDictionary<MessageDescriptor, (FieldDescriptor Field, int MaxLength)[]> Plans = new();

    /// <summary>
    /// Throws INVALID_ARGUMENT for the first field out of bounds, naming it in the field violation only: messages
    /// reach people through edges (the ECS gateway) where the schema's field names mean nothing.
    /// </summary>
    public static void Check(IMessage message)
    {
        if (Visit(message, "", depth: 0) is not { } violation)
        {
            return;
        }
        var (path, field) = violation;
        throw field.FieldType == FieldType.Enum
            ? Fault.InvalidArgument($"Invalid{field.EnumType.Name}.Malformed", path, $"{path} is not one of the values of {field.EnumType.Name}.")
            : Fault.InvalidArgument("InvalidParameter", path, $"The request has a text longer than {MaxLength(field)} characters (the field violation names it).");
    }

    private static (string Path, FieldDescriptor Field)? Visit(IMessage message, string prefix, int depth)
    {
        if (depth > 32)
        {
            return null; // the parser's recursion limit already bounds this; the schema has no deep types
        }
        foreach (var (field, maxLength) in Plan(message.Descriptor))
        {
            var value = field.Accessor.GetValue(message);
            var path = prefix + field.Name;
            if (field.IsRepeated)
            {
                var i = 0;
                foreach (var item in (IEnumerable)value)
                {
                    if (Inspect(field, maxLength, item, $"{path}[{i++}]", depth) is { } bad)
                    {
                        return bad;
                    }
                }
            }
            else if (value is not null && Inspect(field, maxLength, value, path, depth) is { } bad)
            {
                return bad;
            }
        }
        return null;
    }

    private static (string, FieldDescriptor)? Inspect(FieldDescriptor field, int maxLength, object value, string path, int depth) => field.FieldType switch
    {
        FieldType.String => ((string)value).Length > maxLength ? (path, field) : null,
        FieldType.Enum => field.EnumType.FindValueByNumber(Convert.ToInt32(value, System.Globalization.CultureInfo.InvariantCulture)) is null ? (path, field) : null,
        FieldType.Message => Visit((IMessage)value, path + ".", depth + 1),
        _ => null,
    };

    /// <summary>The most characters a string field may hold: what its schema declares, else <see cref="MaxStringLength"/>.</summary>
    public static int MaxLength(FieldDescriptor field) =>
        field.GetOptions()?.GetExtension(BoundsExtensions.MaxLength) is > 0 and var declared ? (int)Math.Min(declared, int.MaxValue) : MaxStringLength;

    private static (FieldDescriptor, int)[] Plan(MessageDescriptor descriptor) =>
        Plans.GetOrAdd(descriptor, static d => d.Fields.InFieldNumberOrder().Where(f => !f.IsMap && Matters(f, [])).Select(f => (f, MaxLength(f))).ToArray());

    private static bool Matters(FieldDescriptor field, HashSet<MessageDescriptor> visiting) => field.FieldType switch
    {
        FieldType.String or FieldType.Enum => true,
        FieldType.Message when !field.MessageType.File.Package.StartsWith("google.", StringComparison.Ordinal) =>
            visiting.Add(field.MessageType) && field.MessageType.Fields.InFieldNumberOrder().Any(f => !f.IsMap && Matters(f, visiting)),
        _ => false,
    };
}
