using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Switchboard.Contracts;

namespace Switchboard.Server.Api;

/// <summary>Problem details (RFC 9457) carrying Switchboard's stable error code in the <c>code</c> extension.</summary>
internal static class ApiProblems
{
    public static ProblemHttpResult Problem(SwitchboardError error, int? status = null) =>
        TypedResults.Problem(
            detail: error.Message,
            statusCode: status ?? StatusFor(error.Code),
            title: error.Code,
            type: $"urn:switchboard:error:{error.Code}",
            extensions: new Dictionary<string, object?> { ["code"] = error.Code });

    /// <summary>The HTTP status of each code; every other refusal is 400.</summary>
    public static int StatusFor(string code) => code switch
    {
        ErrorCodes.Unauthenticated => StatusCodes.Status401Unauthorized,
        ErrorCodes.PermissionDenied or ErrorCodes.OriginNotAllowed => StatusCodes.Status403Forbidden,
        ErrorCodes.ConnectionNotFound => StatusCodes.Status404NotFound,
        ErrorCodes.BodyTooLarge => StatusCodes.Status413PayloadTooLarge,
        ErrorCodes.RateLimited => StatusCodes.Status429TooManyRequests,
        ErrorCodes.HistoryUnavailable or ErrorCodes.Unavailable => StatusCodes.Status503ServiceUnavailable,
        _ => StatusCodes.Status400BadRequest,
    };

    /// <summary>
    /// Reads a JSON body of <typeparamref name="T"/> of at most <paramref name="maxBytes"/> bytes.
    /// Every way it can be wrong is a coded refusal (<c>body_invalid</c>, <c>body_too_large</c>)
    /// rather than the framework's bare 400, 413 or 415. <paramref name="shape"/> and
    /// <paramref name="example"/> word the sentences.
    /// </summary>
    public static async Task<(T? Value, SwitchboardError? Error)> ReadJsonAsync<T>(HttpRequest request, int maxBytes,
        string shape, string example, CancellationToken cancellationToken) where T : class
    {
        if (!request.HasJsonContentType())
        {
            return (null, new(ErrorCodes.BodyInvalid, $"The body must be {shape} with Content-Type application/json."));
        }
        if (request.ContentLength > maxBytes)
        {
            return (null, TooLarge(maxBytes));
        }
        // Also bounds a body sent without a length (chunked): reading past the limit fails with 413.
        if (request.HttpContext.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = maxBytes;
        }
        try
        {
            var value = await JsonSerializer.DeserializeAsync<T>(request.Body, JsonSerializerOptions.Web, cancellationToken);
            return value is null
                ? (null, new(ErrorCodes.BodyInvalid, $"The body must be {shape}, not null."))
                : (value, null);
        }
        catch (JsonException)
        {
            return (null, new(ErrorCodes.BodyInvalid, $"The body must be {shape}, for example {example}."));
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, TooLarge(maxBytes));
        }
    }

    private static SwitchboardError TooLarge(int maxBytes) =>
        new(ErrorCodes.BodyTooLarge, $"The body is larger than {maxBytes} bytes.");
}
