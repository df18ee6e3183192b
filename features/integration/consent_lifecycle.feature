@integration @consent_lifecycle @fake_only
Feature: A consent ends
  A customer can revoke their consent and every consent expires. On its next sync the integration
  must mark the consent inactive and soft-delete the data shared under it, while Fiskil still
  lists the consent as inactive.

  Scenario: The customer revokes their consent
    Given a customer with an active banking consent
    And the integration has synced the customer
    When the customer revokes the consent
    And the integration syncs the customer again
    Then the sync succeeds
    And the integration stores the consent as inactive
    And the integration keeps no live accounts or transactions for the customer
    And Fiskil lists the consent as inactive

  Scenario: The consent expires
    Given a customer with an active banking consent
    And the integration has synced the customer
    When the consent expires
    And the integration syncs the customer again
    Then the sync succeeds
    And the integration stores the consent as inactive
    And the integration keeps no live accounts or transactions for the customer
    And Fiskil lists the consent as inactive

  Scenario: The ended consent's data is kept, marked deleted, not erased
    Given a customer with an active banking consent
    And the integration has synced the customer
    When the customer revokes the consent
    And the integration syncs the customer again
    Then the integration keeps no live accounts or transactions for the customer
    And the integration keeps the ended consent's accounts and transactions as soft-deleted records

  Scenario: No data is requested for an ended consent
    Given a customer with an active banking consent
    And the integration has synced the customer
    When the customer revokes the consent
    And the integration syncs the customer again
    Then the integration requested no banking data since the consent ended

  Scenario: The customer links again after revoking
    Given a customer with an active banking consent
    And the integration has synced the customer
    And the customer has revoked the consent
    And the integration has synced the customer again
    When the customer links their bank with a banking consent
    And the integration syncs the customer again
    Then the sync succeeds
    And the integration stores 1 active consent
    And the integration stores the same accounts and transactions as Fiskil holds
