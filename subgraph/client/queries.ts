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
  query Facilities($first: Int!, $skip: Int!) {
    facilities(first: $first, skip: $skip, orderBy: fossilCo2eGrams, orderDirection: desc) {
      ...FacilityFields
    }
  }
  ${FACILITY_FIELDS}
`;

export const FACILITY_QUERY = /* GraphQL */ `
  query Facility($id: ID!, $first: Int!, $skip: Int!) {
    facility(id: $id) {
      ...FacilityFields
      devices(first: 1000, orderBy: registeredAt) {
        id
        code
        kind
        status
        keyCount
        registeredAt
      }
      projects(first: 1000, orderBy: registeredAt) {
        ...ProjectFields
      }
      attestations(first: $first, skip: $skip, orderBy: periodStart, orderDirection: desc) {
        ...AttestationSummaryFields
      }
    }
  }
  ${FACILITY_FIELDS}
  ${PROJECT_FIELDS}
  ${ATTESTATION_SUMMARY_FIELDS}
`;

export const DEVICE_QUERY = /* GraphQL */ `
  query Device($id: ID!) {
    device(id: $id) {
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
  }
`;

export const ATTESTATIONS_QUERY = /* GraphQL */ `
  query Attestations($first: Int!, $skip: Int!, $where: Attestation_filter) {
    attestations(first: $first, skip: $skip, orderBy: submittedAt, orderDirection: desc, where: $where) {
      ...AttestationSummaryFields
    }
  }
  ${ATTESTATION_SUMMARY_FIELDS}
`;

export const ATTESTATION_QUERY = /* GraphQL */ `
  query Attestation($id: ID!) {
    attestation(id: $id) {
      ...AttestationSummaryFields
      merkleRoot
      methodologyId
      factorSetId
      bundleCid
      correctionOf {
        id
      }
      corrections(first: 1000, orderBy: periodStart) {
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
        amountKg
        boundKg
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
  query Listings($first: Int!, $skip: Int!, $where: Listing_filter) {
    listings(first: $first, skip: $skip, orderBy: createdAt, orderDirection: desc, where: $where) {
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

/** Every document, by name, for the validation tests. */
export const ALL_QUERIES: Record<string, string> = {
  OVERVIEW_QUERY,
  FACILITIES_QUERY,
  FACILITY_QUERY,
  DEVICE_QUERY,
  ATTESTATIONS_QUERY,
  ATTESTATION_QUERY,
  CREDIT_QUERY,
  LISTINGS_QUERY,
  RETIREMENT_QUERY,
  HOLDINGS_QUERY,
  DAILY_QUERY,
  FACILITY_DAILY_QUERY,
};
