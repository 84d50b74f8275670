/**
 * Every GraphQL document the subgraph backend sends. Each is validated against the API graph-node
 * derives from ../schema.graphql in test/client.test.ts, so a schema change that breaks one fails
 * the tests, not the explorer.
 */

const FACILITY_FIELDS = /* GraphQL */ `
  fragment FacilityFields on Facility {
    id
    code
    deviceCount
    activeDeviceCount
    attestationCount
    revokedAttestationCount
    readingCount
    fossilCo2eGrams
    biogenicCo2Grams
    attestedUntil
    creditsIssuedKg
    creditsRetiredKg
  }
`;

const ATTESTATION_SUMMARY_FIELDS = /* GraphQL */ `
  fragment AttestationSummaryFields on Attestation {
    id
    facility {
      id
      code
    }
    periodStart
    periodEnd
    readingCount
    fossilCo2eGrams
    biogenicCo2Grams
    isCorrection
    revoked
    challengeState
    submittedAt
    issuance {
      credit {
        tokenId
      }
    }
  }
`;

const PROJECT_FIELDS = /* GraphQL */ `
  fragment ProjectFields on Project {
    projectId
    name
    standard
    active
    proponent
    issuedKg
    retiredKg
    owedGrams
    shortfallGramsRecorded
  }
`;

export const OVERVIEW_QUERY = /* GraphQL */ `
  query Overview {
    protocolStat(id: "all") {
      facilityCount
      deviceCount
      oracleNodeCount
      attestationCount
      revokedAttestationCount
      readingCount
      fossilCo2eGrams
      biogenicCo2Grams
      projectCount
      issuedKg
      retiredKg
      retirementCount
      listingCount
      saleCount
      soldKg
    }
    _meta {
      block {
        number
      }
      hasIndexingErrors
    }
  }
`;

export const FACILITIES_QUERY = /* GraphQL */ `
  query Facilities($first: Int!, $skip: Int!, $direction: OrderDirection!, $where: Facility_filter) {
    facilities(first: $first, skip: $skip, orderBy: fossilCo2eGrams, orderDirection: $direction, where: $where) {
      ...FacilityFields
    }
  }
  ${FACILITY_FIELDS}
`;

/** A facility with its nested lists, or (`$nested` false: facilityHeader) without them. */
export const FACILITY_QUERY = /* GraphQL */ `
  query Facility($id: ID!, $first: Int!, $skip: Int!, $nested: Boolean!) {
    facility(id: $id) {
      ...FacilityFields
      devices(first: 1000, orderBy: registeredAt) @include(if: $nested) {
        id
        code
        kind
        status
        keyCount
        registeredAt
      }
      projects(first: 1000, orderBy: registeredAt) @include(if: $nested) {
        ...ProjectFields
      }
      attestations(first: $first, skip: $skip, orderBy: periodStart, orderDirection: desc) @include(if: $nested) {
        ...AttestationSummaryFields
      }
    }
  }
  ${FACILITY_FIELDS}
  ${PROJECT_FIELDS}
  ${ATTESTATION_SUMMARY_FIELDS}
`;

/**
 * Attestations by period, bounded by `where` instead of `skip`: a facility's (FACILITY_QUERY's
 * nested list) and an attestation's corrections (ATTESTATION_QUERY's), by cursor.
 */
export const FACILITY_ATTESTATIONS_QUERY = /* GraphQL */ `
  query FacilityAttestations($first: Int!, $skip: Int!, $direction: OrderDirection!, $where: Attestation_filter) {
    attestations(first: $first, skip: $skip, orderBy: periodStart, orderDirection: $direction, where: $where) {
      ...AttestationSummaryFields
    }
  }
  ${ATTESTATION_SUMMARY_FIELDS}
`;

/** A facility's devices by cursor: FACILITY_QUERY's nested list, bounded by `where`. */
export const FACILITY_DEVICES_QUERY = /* GraphQL */ `
  query FacilityDevices($first: Int!, $skip: Int!, $direction: OrderDirection!, $where: Device_filter) {
    devices(first: $first, skip: $skip, orderBy: registeredAt, orderDirection: $direction, where: $where) {
      id
      code
      kind
      status
      keyCount
      registeredAt
    }
  }
`;

/** A facility's projects by cursor: FACILITY_QUERY's nested list, bounded by `where`. */
export const FACILITY_PROJECTS_QUERY = /* GraphQL */ `
  query FacilityProjects($first: Int!, $skip: Int!, $direction: OrderDirection!, $where: Project_filter) {
    projects(first: $first, skip: $skip, orderBy: registeredAt, orderDirection: $direction, where: $where) {
      id
      registeredAt
      ...ProjectFields
    }
  }
  ${PROJECT_FIELDS}
`;

/** A device's keys by cursor: DEVICE_QUERY's nested list, bounded by `where`. */
export const DEVICE_KEYS_QUERY = /* GraphQL */ `
  query DeviceKeys($first: Int!, $skip: Int!, $direction: OrderDirection!, $where: DeviceKey_filter) {
    deviceKeys(first: $first, skip: $skip, orderBy: index, orderDirection: $direction, where: $where) {
      id
      index
      x
      y
      validFrom
      validUntil
    }
  }
`;

/** A device's history by cursor: DEVICE_QUERY's nested list, bounded by `where`. */
export const DEVICE_HISTORY_QUERY = /* GraphQL */ `
  query DeviceHistory($first: Int!, $skip: Int!, $direction: OrderDirection!, $where: DeviceEvent_filter) {
    deviceEvents(first: $first, skip: $skip, orderBy: timestamp, orderDirection: $direction, where: $where) {
      id
      kind
      reason
      timestamp
      transactionHash
    }
  }
`;

const DEVICE_HEADER_FIELDS = /* GraphQL */ `
  fragment DeviceHeaderFields on Device {
    id
    code
    kind
    status
    keyCount
    registeredAt
    statusReason
    metadataURI
    facility {
      id
      code
    }
  }
`;

const DEVICE_DETAIL_FIELDS = /* GraphQL */ `
  fragment DeviceDetailFields on Device {
    ...DeviceHeaderFields
    keys(first: 1000, orderBy: index) {
      index
      x
      y
      validFrom
      validUntil
    }
    history(first: 1000, orderBy: timestamp) {
      kind
      reason
      timestamp
      transactionHash
    }
  }
`;

/** A device with its keys and history, or (`$nested` false: deviceHeader) without them. */
export const DEVICE_QUERY = /* GraphQL */ `
  query Device($id: ID!, $nested: Boolean!) {
    device(id: $id) {
      ...DeviceHeaderFields
      ...DeviceDetailFields @include(if: $nested)
    }
  }
  ${DEVICE_HEADER_FIELDS}
  ${DEVICE_DETAIL_FIELDS}
`;

export const ATTESTATIONS_QUERY = /* GraphQL */ `
  query Attestations($first: Int!, $skip: Int!, $direction: OrderDirection!, $where: Attestation_filter) {
    attestations(first: $first, skip: $skip, orderBy: submittedAt, orderDirection: $direction, where: $where) {
      ...AttestationSummaryFields
    }
  }
  ${ATTESTATION_SUMMARY_FIELDS}
`;

/** An attestation with its corrections, or (`$nested` false: attestationHeader) without them. */
export const ATTESTATION_QUERY = /* GraphQL */ `
  query Attestation($id: ID!, $nested: Boolean!) {
    attestation(id: $id) {
      ...AttestationSummaryFields
      merkleRoot
      methodologyId
      factorSetId
      bundleCid
      correctionOf {
        id
      }
      corrections(first: 1000, orderBy: periodStart) @include(if: $nested) {
        id
      }
      signatures(first: 128) {
        node {
          address
          index
        }
      }
      submitter
      transactionHash
      revocation {
        verifier
        reason
        timestamp
        challenge {
          id
        }
      }
      challenge {
        challenger
        reason
        evidenceCid
        state
        note
      }
      issuance {
        tokenId
        amountKg
        boundKg
        transactionHash
      }
      shortfall {
        project {
          projectId
        }
        excessGrams
        transactionHash
      }
    }
  }
  ${ATTESTATION_SUMMARY_FIELDS}
`;

export const CREDIT_QUERY = /* GraphQL */ `
  query Credit($id: ID!) {
    credit(id: $id) {
      tokenId
      vintage
      issuedKg
      retiredKg
      supplyKg
      holderCount
      retirementCount
      project {
        ...ProjectFields
        facility {
          id
          code
        }
      }
      issuances(first: 1000, orderBy: timestamp) {
        attestation {
          id
        }
        amountKg
        boundKg
        timestamp
        transactionHash
      }
    }
  }
  ${PROJECT_FIELDS}
`;

export const LISTINGS_QUERY = /* GraphQL */ `
  query Listings($first: Int!, $skip: Int!, $direction: OrderDirection!, $where: Listing_filter) {
    listings(first: $first, skip: $skip, orderBy: createdAt, orderDirection: $direction, where: $where) {
      id
      createdAt
      listingId
      seller {
        id
      }
      credit {
        tokenId
      }
      amountKg
      remainingKg
      paymentToken
      unitPrice
      minFillKg
      expiresAt
      status
    }
  }
`;

export const RETIREMENT_QUERY = /* GraphQL */ `
  query Retirement($id: ID!) {
    retirement(id: $id) {
      id
      credit {
        tokenId
        vintage
        project {
          projectId
          name
          facility {
            id
            code
          }
        }
      }
      beneficiary {
        id
      }
      retiree {
        id
      }
      holder
      amountKg
      beneficiaryName
      reason
      consumptionCountryCode
      consumptionStart
      consumptionEnd
      timestamp
      transactionHash
      certificate {
        locked
      }
    }
  }
`;

export const HOLDINGS_QUERY = /* GraphQL */ `
  query Holdings($id: ID!) {
    account(id: $id) {
      balances(first: 1000, orderBy: amountKg, orderDirection: desc, where: { amountKg_gt: "0" }) {
        amountKg
        credit {
          tokenId
          vintage
          project {
            name
          }
        }
      }
    }
  }
`;

/** An account's balances by cursor: HOLDINGS_QUERY's nested list, bounded by `where` instead of `skip`. */
export const ACCOUNT_HOLDINGS_QUERY = /* GraphQL */ `
  query AccountHoldings($first: Int!, $skip: Int!, $direction: OrderDirection!, $where: Balance_filter) {
    balances(first: $first, skip: $skip, orderBy: amountKg, orderDirection: $direction, where: $where) {
      id
      amountKg
      credit {
        tokenId
        vintage
        project {
          name
        }
      }
    }
  }
`;

const DAILY_FIELDS = `
    day
    date
    attestationCount
    revokedAttestationCount
    readingCount
    fossilCo2eGrams
    biogenicCo2Grams
    issuedKg
    retiredKg
    saleCount
    soldKg
`;

export const DAILY_QUERY = /* GraphQL */ `
  query Daily($from: Int!, $to: Int!) {
    dailyStats(first: 1000, orderBy: day, where: { day_gte: $from, day_lte: $to }) {
      ${DAILY_FIELDS}
    }
  }
`;

export const FACILITY_DAILY_QUERY = /* GraphQL */ `
  query FacilityDaily($facility: ID!, $from: Int!, $to: Int!) {
    facility(id: $facility) {
      days(first: 1000, orderBy: day, where: { day_gte: $from, day_lte: $to }) {
        ${DAILY_FIELDS}
      }
    }
  }
`;

/** Every facility's days in a range, by day then id (facility id ++ day), by cursor (`facilitiesDaily`). */
export const FACILITIES_DAILY_QUERY = /* GraphQL */ `
  query FacilitiesDaily($first: Int!, $skip: Int!, $direction: OrderDirection!, $where: FacilityDailyStat_filter) {
    facilityDailyStats(first: $first, skip: $skip, orderBy: day, orderDirection: $direction, where: $where) {
      id
      facility {
        id
        code
      }
      ${DAILY_FIELDS}
      issuedAgainstKg
    }
  }
`;

// ---------------------------------------------------------------- lists the explorer browses

/** Devices with their facts only (DEVICE_QUERY's header): a list row reads no key or event. */
export const DEVICES_QUERY = /* GraphQL */ `
  query Devices($first: Int!, $skip: Int!, $direction: OrderDirection!, $where: Device_filter) {
    devices(first: $first, skip: $skip, orderBy: registeredAt, orderDirection: $direction, where: $where) {
      ...DeviceHeaderFields
    }
  }
  ${DEVICE_HEADER_FIELDS}
`;

export const ORACLE_NODES_QUERY = /* GraphQL */ `
  query OracleNodes($first: Int!, $skip: Int!, $direction: OrderDirection!, $where: OracleNode_filter) {
    oracleNodes(first: $first, skip: $skip, orderBy: index, orderDirection: $direction, where: $where) {
      id
      address
      index
      active
      addedAt
      removedAt
      attestationsSigned
    }
  }
`;

export const ISSUANCES_QUERY = /* GraphQL */ `
  query Issuances($first: Int!, $skip: Int!, $direction: OrderDirection!, $where: Issuance_filter) {
    issuances(first: $first, skip: $skip, orderBy: timestamp, orderDirection: $direction, where: $where) {
      id
      tokenId
      attestation {
        id
      }
      project {
        projectId
        facility {
          id
          code
        }
      }
      amountKg
      boundKg
      timestamp
      transactionHash
    }
  }
`;

export const TRANSFERS_QUERY = /* GraphQL */ `
  query Transfers($first: Int!, $skip: Int!, $direction: OrderDirection!, $where: CreditTransfer_filter) {
    creditTransfers(first: $first, skip: $skip, orderBy: timestamp, orderDirection: $direction, where: $where) {
      id
      credit {
        tokenId
      }
      kind
      operator
      from
      to
      amountKg
      timestamp
      blockNumber
      transactionHash
    }
  }
`;

export const SALES_QUERY = /* GraphQL */ `
  query Sales($first: Int!, $skip: Int!, $direction: OrderDirection!, $where: Sale_filter) {
    sales(first: $first, skip: $skip, orderBy: timestamp, orderDirection: $direction, where: $where) {
      id
      listing {
        listingId
        seller {
          id
        }
      }
      credit {
        tokenId
      }
      buyer {
        id
      }
      amountKg
      totalPrice
      fee
      paymentToken
      retired
      certificate {
        certificateId
      }
      timestamp
      transactionHash
    }
  }
`;

/** The credit token ids of a facility's projects: retirements reach their facility only through them. */
export const FACILITY_CREDITS_QUERY = /* GraphQL */ `
  query FacilityCredits($id: ID!) {
    facility(id: $id) {
      projects(first: 1000) {
        credits(first: 1000) {
          id
        }
      }
    }
  }
`;

export const RETIREMENTS_QUERY = /* GraphQL */ `
  query Retirements($first: Int!, $skip: Int!, $direction: OrderDirection!, $where: Retirement_filter) {
    retirements(first: $first, skip: $skip, orderBy: timestamp, orderDirection: $direction, where: $where) {
      id
      credit {
        tokenId
        project {
          facility {
            id
            code
          }
        }
      }
      beneficiary {
        id
      }
      beneficiaryName
      retiree {
        id
      }
      amountKg
      reason
      timestamp
      transactionHash
    }
  }
`;

export const CHALLENGES_QUERY = /* GraphQL */ `
  query Challenges($first: Int!, $skip: Int!, $direction: OrderDirection!, $where: Challenge_filter) {
    challenges(first: $first, skip: $skip, orderBy: challengedAt, orderDirection: $direction, where: $where) {
      id
      attestation {
        id
        facility {
          id
          code
        }
      }
      challenger
      reason
      evidenceCid
      state
      challengedAt
      resolvedAt
      note
      transactionHash
    }
  }
`;

/**
 * Every exact match of a search term, in one request: the client says which readings of the term
 * apply (`by…` flags) and `@include` skips the lookups that do not. A transaction hash is looked
 * up in every entity that records the transaction that made it; `first: 1` is enough to name
 * what the transaction did. An address comes twice: as `ID` for `account` and as `Bytes` for a filter.
 */
export const SEARCH_QUERY = /* GraphQL */ `
  query Search(
    $key: ID!
    $byKey: Boolean!
    $hash: Bytes!
    $byHash: Boolean!
    $address: ID!
    $addressBytes: Bytes!
    $byAddress: Boolean!
    $number: ID!
    $byNumber: Boolean!
    $cid: String!
    $byCid: Boolean!
  ) {
    facility(id: $key) @include(if: $byKey) {
      id
      code
    }
    device(id: $key) @include(if: $byKey) {
      id
      code
      facility {
        id
        code
      }
    }
    attestation(id: $key) @include(if: $byHash) {
      id
      facility {
        id
        code
      }
      periodStart
    }
    oracleNodes(first: 10, orderBy: index, where: { address: $addressBytes }) @include(if: $byAddress) {
      address
      index
      active
    }
    account(id: $address) @include(if: $byAddress) {
      id
    }
    credit(id: $number) @include(if: $byNumber) {
      tokenId
      vintage
      project {
        name
      }
    }
    listing(id: $number) @include(if: $byNumber) {
      listingId
      status
      remainingKg
    }
    retirement(id: $number) @include(if: $byNumber) {
      id
      amountKg
      beneficiaryName
    }
    bundles: attestations(first: 10, orderBy: submittedAt, orderDirection: desc, where: { bundleCid: $cid })
      @include(if: $byCid) {
      id
      facility {
        id
        code
      }
    }
    txAttestations: attestations(first: 1, where: { transactionHash: $hash }) @include(if: $byHash) {
      id
    }
    txRevocations: revocations(first: 1, where: { transactionHash: $hash }) @include(if: $byHash) {
      id
    }
    txChallenges: challenges(first: 1, where: { transactionHash: $hash }) @include(if: $byHash) {
      id
    }
    txChallengeResolutions: challenges(first: 1, where: { resolvedTransactionHash: $hash }) @include(if: $byHash) {
      id
    }
    txCorrections: correctionRecords(first: 1, where: { transactionHash: $hash }) @include(if: $byHash) {
      id
    }
    txProjects: projects(first: 1, where: { transactionHash: $hash }) @include(if: $byHash) {
      id
    }
    txBaselines: baselines(first: 1, where: { transactionHash: $hash }) @include(if: $byHash) {
      id
    }
    txIssuances: issuances(first: 1, where: { transactionHash: $hash }) @include(if: $byHash) {
      id
    }
    txTransfers: creditTransfers(first: 1, where: { transactionHash: $hash, kind: Transfer }) @include(if: $byHash) {
      id
    }
    txListings: listings(first: 1, where: { transactionHash: $hash }) @include(if: $byHash) {
      id
    }
    txPriceChanges: priceChanges(first: 1, where: { transactionHash: $hash }) @include(if: $byHash) {
      id
    }
    txSales: sales(first: 1, where: { transactionHash: $hash }) @include(if: $byHash) {
      id
    }
    txRetirements: retirements(first: 1, where: { transactionHash: $hash }) @include(if: $byHash) {
      id
    }
    txDeviceEvents: deviceEvents(first: 10, where: { transactionHash: $hash }) @include(if: $byHash) {
      kind
    }
    txQuorumChanges: quorumChanges(first: 10, where: { transactionHash: $hash }) @include(if: $byHash) {
      kind
    }
    txPauseChanges: pauseChanges(first: 1, where: { transactionHash: $hash }) @include(if: $byHash) {
      paused
    }
    txFeeChanges: feeChanges(first: 1, where: { transactionHash: $hash }) @include(if: $byHash) {
      id
    }
    txRoleAdminChanges: roleAdminChanges(first: 1, where: { transactionHash: $hash }) @include(if: $byHash) {
      id
    }
  }
`;

/** Every document, by name, for the validation tests. */
export const ALL_QUERIES: Record<string, string> = {
  OVERVIEW_QUERY,
  FACILITIES_QUERY,
  FACILITY_QUERY,
  FACILITY_ATTESTATIONS_QUERY,
  FACILITY_DEVICES_QUERY,
  FACILITY_PROJECTS_QUERY,
  DEVICE_KEYS_QUERY,
  DEVICE_HISTORY_QUERY,
  DEVICE_QUERY,
  ATTESTATIONS_QUERY,
  ATTESTATION_QUERY,
  CREDIT_QUERY,
  LISTINGS_QUERY,
  RETIREMENT_QUERY,
  HOLDINGS_QUERY,
  ACCOUNT_HOLDINGS_QUERY,
  DAILY_QUERY,
  FACILITY_DAILY_QUERY,
  DEVICES_QUERY,
  ORACLE_NODES_QUERY,
  ISSUANCES_QUERY,
  TRANSFERS_QUERY,
  SALES_QUERY,
  FACILITY_CREDITS_QUERY,
  RETIREMENTS_QUERY,
  CHALLENGES_QUERY,
  SEARCH_QUERY,
};
