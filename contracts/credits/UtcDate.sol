// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/**
 * @title UtcDate
 * @notice Proleptic Gregorian calendar arithmetic on unix seconds (UTC), after Howard Hinnant's
 * `civil_from_days` / `days_from_civil` (http://howardhinnant.github.io/date_algorithms.html).
 * Used for vintages (the UTC year a period starts in) and for dates on certificates.
 */
library UtcDate {
    /// @notice (year, month 1-12, day 1-31) of unix time `ts` (seconds, UTC).
    function toDate(uint256 ts) internal pure returns (uint256 year, uint256 month, uint256 day) {
        unchecked {
            uint256 z = ts / 86400 + 719468;
            uint256 era = z / 146097;
            uint256 doe = z - era * 146097;
            uint256 yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
            uint256 doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
            uint256 mp = (5 * doy + 2) / 153;
            day = doy - (153 * mp + 2) / 5 + 1;
            month = mp < 10 ? mp + 3 : mp - 9;
            year = yoe + era * 400 + (month <= 2 ? 1 : 0);
        }
    }

    /// @notice The UTC calendar year of unix time `ts`.
    function yearOf(uint256 ts) internal pure returns (uint256 year) {
        (year,,) = toDate(ts);
    }

    /// @notice Unix time of 1 January `year`, 00:00:00 UTC (year ≥ 1970).
    function startOfYear(uint256 year) internal pure returns (uint256) {
        unchecked {
            // days_from_civil(year, 1, 1): January counts as month 13 of the previous year.
            uint256 y = year - 1;
            uint256 era = y / 400;
            uint256 yoe = y - era * 400;
            uint256 doy = 306; // (153 * (1 + 9) + 2) / 5 + 1 - 1
            uint256 doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
            return (era * 146097 + doe - 719468) * 86400;
        }
    }
}
