namespace GrpcImages.Console.Resources;

/// <summary>
/// The pages' texts: the English text is its own key, and Strings.ja.resx holds the Japanese (the FAQ's language).
/// A text without a translation shows in English.
/// </summary>
public sealed class Strings;
