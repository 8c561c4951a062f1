using System.Text;
using Microsoft.Playwright;
using Switchboard.Web.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Switchboard.Web.Tests;

[Collection(WebAppCollection.Name)]
public sealed class UploadTests(WebAppFixture app)
{
    [Fact]
    public async Task AnUploadReachesOneHundredPercentWithTheRightReceipt()
    {
        // 2,000 lines of different lengths, some not ASCII; characters count UTF-16 code units.
        var lines = Enumerable.Range(1, 2000).Select(i => $"line {i}: " + new string('x', i % 97) + (i % 10 == 0 ? " héllo wörld ✓" : "")).ToList();
        var text = string.Join("\n", lines) + "\n";
        var characters = lines.Sum(l => l.Length);

        await using var user = await app.SignInAsync(ChatTests.Unique("uploader"), "Uma");
        try
        {
            await user.GoToAsync("Upload");
            var upload = user.Page.Locator("#page-upload");
            await upload.GetByLabel("Text file", new() { Exact = true }).SetInputFilesAsync(new FilePayload
            {
                Name = "lines.txt",
                MimeType = "text/plain",
                Buffer = Encoding.UTF8.GetBytes(text),
            });
            await upload.GetByRole(AriaRole.Button, new() { Name = "Upload" }).ClickAsync();

            await Expect(upload.Locator("#upload-status")).ToHaveTextAsync("Uploaded lines.txt.");
            await Expect(upload.Locator("#upload-percent")).ToHaveTextAsync("100%");
            await Expect(upload.Locator("#upload-progress")).ToHaveJSPropertyAsync("value", 100);
            // The bar moved with the server's UploadProgress events, not only at the end.
            Assert.True(int.Parse(await upload.GetAttributeAsync("data-progress-events") ?? "0", System.Globalization.CultureInfo.InvariantCulture) >= 2);
            await Expect(upload.Locator("#receipt-items")).ToHaveTextAsync("2000");
            await Expect(upload.Locator("#receipt-characters")).ToHaveTextAsync(characters.ToString(System.Globalization.CultureInfo.InvariantCulture));
            await Expect(upload.Locator("#receipt-check")).ToHaveAttributeAsync("data-matches", "true");
        }
        finally
        {
            await Screenshots.SaveAsync(user.Page, "upload");
        }
        user.AssertHealthy();
    }
}
