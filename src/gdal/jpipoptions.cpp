/******************************************************************************
 * Project:  Pipit
 * Purpose:  The JPIP driver's open options and GDAL's HTTP configuration
 *           options mapped to the Pipit client's options.
 ****************************************************************************/
#include "jpipoptions.h"

#include <algorithm>
#include <cmath>

#include "cpl_conv.h"
#include "cpl_multiproc.h"
#include "cpl_string.h"
#include "cpl_vsi.h"

namespace
{

const char *GetOption(CSLConstList papszOpenOptions, const char *pszName,
                      const char *pszConfig, const char *pszDefault)
{
    const char *pszVal = CSLFetchNameValue(papszOpenOptions, pszName);
    if (pszVal != nullptr)
        return pszVal;
    if (pszConfig != nullptr)
        return CPLGetConfigOption(pszConfig, pszDefault);
    return pszDefault;
}

// A GDAL_HTTP_* option, path-specific values (VSISetPathSpecificOption, the
// [credentials] of a GDAL configuration file) first, as /vsicurl/ does.
const char *GetHTTPOption(const char *pszFilename, const char *pszKey)
{
    return VSIGetPathSpecificOption(pszFilename, pszKey, nullptr);
}

long SecondsToMs(const char *pszSeconds)
{
    const double dfSec = CPLAtof(pszSeconds);
    return dfSec > 0 ? static_cast<long>(std::ceil(dfSec * 1000)) : 0;
}

} // namespace

std::uint64_t JPIPParseByteSize(const char *pszValue)
{
    char *pszEnd = nullptr;
    const double dfValue = CPLStrtod(pszValue, &pszEnd);
    if (pszEnd == pszValue || !(dfValue > 0))
        return 0;
    while (*pszEnd == ' ')
        ++pszEnd;
    double dfUnit = 1;
    if (STARTS_WITH_CI(pszEnd, "K"))
        dfUnit = 1024.0;
    else if (STARTS_WITH_CI(pszEnd, "M"))
        dfUnit = 1024.0 * 1024;
    else if (STARTS_WITH_CI(pszEnd, "G"))
        dfUnit = 1024.0 * 1024 * 1024;
    return static_cast<std::uint64_t>(dfValue * dfUnit);
}

std::vector<std::string> JPIPSplitHeaders(const char *pszHeaders)
{
    std::vector<std::string> aosOut;
    if (pszHeaders == nullptr)
        return aosOut;
    const std::string osAll(pszHeaders);
    auto Keep = [&aosOut](std::string os) {
        const auto nFirst = os.find_first_not_of(" \t");
        if (nFirst == std::string::npos)
            return;
        os.erase(0, nFirst);
        while (!os.empty() && (os.back() == ' ' || os.back() == '\t' ||
                               os.back() == '\r' || os.back() == '\n'))
            os.pop_back();
        if (!os.empty())
            aosOut.push_back(os);
    };
    if (osAll.find("\r\n") != std::string::npos)
    {
        size_t nPos = 0;
        while (nPos <= osAll.size())
        {
            size_t nEnd = osAll.find("\r\n", nPos);
            if (nEnd == std::string::npos)
                nEnd = osAll.size();
            Keep(osAll.substr(nPos, nEnd - nPos));
            nPos = nEnd + 2;
        }
        return aosOut;
    }
    std::string osItem;
    bool bQuoted = false;
    for (size_t i = 0; i < osAll.size(); ++i)
    {
        const char ch = osAll[i];
        if (bQuoted)
        {
            if (ch == '\\' && i + 1 < osAll.size() &&
                (osAll[i + 1] == '"' || osAll[i + 1] == '\\'))
                osItem += osAll[++i];
            else if (ch == '"')
                bQuoted = false;
            else
                osItem += ch;
        }
        else if (ch == '"' &&
                 osItem.find_first_not_of(" \t") == std::string::npos)
        {
            osItem.clear();
            bQuoted = true;
        }
        else if (ch == ',')
        {
            Keep(osItem);
            osItem.clear();
        }
        else
            osItem += ch;
    }
    Keep(osItem);
    return aosOut;
}

bool JPIPParseSubdatasetName(const char *pszName, std::string &osURL,
                             std::uint32_t &nStream)
{
    if (!STARTS_WITH_CI(pszName, "JPIP:"))
        return false;
    const char *p = pszName + 5;
    std::uint64_t n = 0;
    const char *pszDigits = p;
    while (*p >= '0' && *p <= '9' && p - pszDigits < 10)
        n = n * 10 + static_cast<std::uint64_t>(*p++ - '0');
    if (p == pszDigits || *p != ':' || n > 0xFFFFFFFFu)
        return false;
    osURL = p + 1;
    nStream = static_cast<std::uint32_t>(n);
    return true;
}

std::string JPIPSubdatasetName(const char *pszURL, std::uint32_t nStream)
{
    return "JPIP:" + std::to_string(nStream) + ":" + pszURL;
}

pipit::client::client_options JPIPClientOptions(const char *pszFilename,
                                                CSLConstList papszOpenOptions)
{
    pipit::client::client_options oOptions;
    auto &oT = oOptions.transport;
    oOptions.cache_dir =
        GetOption(papszOpenOptions, "CACHE_DIR", "JPIP_CACHE_DIR", "");
    oT.verify_tls =
        CPLTestBool(GetOption(papszOpenOptions, "TLS_VERIFY", "JPIP_TLS_VERIFY",
                              "YES")) &&
        !CPLTestBool(CPLGetConfigOption("GDAL_HTTP_UNSAFESSL", "NO"));
    oT.ca_file =
        GetOption(papszOpenOptions, "CA_FILE", "JPIP_CA_FILE",
                  CPLGetConfigOption("GDAL_CURL_CA_BUNDLE",
                                     CPLGetConfigOption("CURL_CA_BUNDLE", "")));

    // GDAL's HTTP configuration options.
    const bool bTLS = STARTS_WITH_CI(pszFilename, "JPIPS://");
    const char *pszProxy =
        bTLS ? GetHTTPOption(pszFilename, "GDAL_HTTPS_PROXY") : nullptr;
    if (pszProxy == nullptr)
        pszProxy = GetHTTPOption(pszFilename, "GDAL_HTTP_PROXY");
    if (pszProxy != nullptr)
        oT.proxy = pszProxy;
    if (const char *psz = GetHTTPOption(pszFilename, "GDAL_HTTP_PROXYUSERPWD"))
        oT.proxy_auth = psz;
    if (const char *psz = GetHTTPOption(pszFilename, "GDAL_HTTP_USERAGENT"))
        oT.user_agent = psz;
    if (const char *psz = GetHTTPOption(pszFilename, "GDAL_HTTP_AUTH"))
        oT.auth = CPLString(psz).tolower();
    if (const char *psz = GetHTTPOption(pszFilename, "GDAL_HTTP_USERPWD"))
        oT.user_password = psz;
    if (const char *psz = GetHTTPOption(pszFilename, "GDAL_HTTP_BEARER"))
    {
        oT.bearer = psz;
        if (oT.auth.empty())
            oT.auth = "bearer";
    }
    oT.headers =
        JPIPSplitHeaders(GetHTTPOption(pszFilename, "GDAL_HTTP_HEADERS"));
    if (const char *psz = GetHTTPOption(pszFilename, "GDAL_HTTP_HEADER_FILE"))
        oT.header_file = psz;
    if (const char *psz = GetHTTPOption(pszFilename, "GDAL_HTTP_COOKIE"))
        oT.cookie = psz;
    if (const char *psz =
            GetHTTPOption(pszFilename, "GDAL_HTTP_CONNECTTIMEOUT"))
        oT.connect_timeout_ms = SecondsToMs(psz);
    if (const char *psz = GetHTTPOption(pszFilename, "GDAL_HTTP_TIMEOUT"))
        oT.timeout_ms = SecondsToMs(psz);
    if (const char *psz =
            GetHTTPOption(pszFilename, "GDAL_HTTP_LOW_SPEED_TIME"))
        oT.low_speed_seconds = std::max(0L, atol(psz));
    if (const char *psz =
            GetHTTPOption(pszFilename, "GDAL_HTTP_LOW_SPEED_LIMIT"))
        oT.low_speed_limit = std::max(1L, atol(psz));
    if (const char *psz = GetHTTPOption(pszFilename, "GDAL_HTTP_MAX_RETRY"))
        oT.max_retry = std::max(0, atoi(psz));
    if (const char *psz = GetHTTPOption(pszFilename, "GDAL_HTTP_RETRY_DELAY"))
        oT.retry_delay_seconds = std::max(0.0, CPLAtof(psz));

    oOptions.initial_len = static_cast<std::uint64_t>(std::max<GIntBig>(
        1, CPLAtoGIntBig(GetOption(papszOpenOptions, "INITIAL_LEN",
                                   "JPIP_INITIAL_LEN", "2000"))));
    oOptions.max_len = static_cast<std::uint64_t>(std::max<GIntBig>(
        1, CPLAtoGIntBig(GetOption(papszOpenOptions, "MAX_LEN", "JPIP_MAX_LEN",
                                   "8388608"))));
    oOptions.window_len = std::min(oOptions.window_len, oOptions.max_len);
    oOptions.use_session = CPLTestBool(
        GetOption(papszOpenOptions, "USE_SESSION", "JPIP_USE_SESSION", "YES"));
    oOptions.reconnect_seconds = CPLAtof(GetOption(
        papszOpenOptions, "RECONNECT_TIMEOUT", "JPIP_RECONNECT_TIMEOUT", "30"));
    oOptions.memory_limit = static_cast<std::uint64_t>(std::max<GIntBig>(
        0, CPLAtoGIntBig(GetOption(papszOpenOptions, "CACHE_MEMORY_LIMIT",
                                   "JPIP_CACHE_MEMORY_LIMIT", "0"))));
    const char *pszThreads = GetOption(papszOpenOptions, "NUM_THREADS",
                                       "GDAL_NUM_THREADS", "ALL_CPUS");
    oOptions.decode_threads =
        EQUAL(pszThreads, "ALL_CPUS") ? CPLGetNumCPUs() : atoi(pszThreads);
    oOptions.decode_threads = std::clamp(oOptions.decode_threads, 1, 128);
    oOptions.decoded_cache_bytes = JPIPParseByteSize(GetOption(
        papszOpenOptions, "DECODED_CACHE", "JPIP_DECODED_CACHE", "128MB"));
    if (EQUAL(JPIPStreamType(papszOpenOptions), "JPT"))
        oOptions.stream = pipit::client::stream_kind::jpt;
    return oOptions;
}

const char *JPIPStreamType(CSLConstList papszOpenOptions)
{
    return GetOption(papszOpenOptions, "STREAM_TYPE", "JPIP_STREAM_TYPE",
                     "JPP");
}
