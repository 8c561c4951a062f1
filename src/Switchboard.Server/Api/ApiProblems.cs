using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Switchboard.Contracts;

namespace Switchboard.Server.Api;

/// <summary>Problem details (RFC 9457) carrying Switchboard's stable error code in the <c>code</c> extension.</summary>
internal static class ApiProblems
{
    public static ProblemHttpResult Problem(SwitchboardError error, int status = StatusCodes.Status400BadRequest) =>
        TypedResults.Problem(
            detail: error.Message,
            statusCode: status,
            title: error.Code,
            type: $"urn:switchboard:error:{error.Code}",
            extensions: new Dictionary<string, object?> { ["code"] = error.Code });

    /// <summary>
    /// Reads a body that must be one JSON string (the guide's <c>[FromBody] string message</c>).
    /// Anything else is a <c>body_invalid</c> refusal rather than the framework's bare 400.
    /// </summary>
    public static async Task<(string? Value, SwitchboardError? Error)> ReadJsonStringAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (!request.HasJsonContentType())
        {
            return (null, new(ErrorCodes.BodyInvalid, "The body must be a JSON string with Content-Type application/json."));
        }
        try
        {
            var value = await JsonSerializer.DeserializeAsync<string>(request.Body, JsonSerializerOptions.Web, cancellationToken);
            return value is null
                ? (null, new(ErrorCodes.BodyInvalid, "The body must be a JSON string, not null."))
                : (value, null);
        }
        catch (JsonException)
        {
            return (null, new(ErrorCodes.BodyInvalid, "The body must be a JSON string, for example \"Hello\"."));
        }
    }
}
