@integration @user_cancellation @fake_only
Feature: The customer cancels or fails the Link flow
  When the customer does not finish connecting their bank, Fiskil sends the browser to the
  integration's cancel address with the reason. The integration must store no consent, tell the
  customer what happened in plain words and what to do next, and ask Fiskil for no data.

  Scenario: The customer cancels at the Link page
    Given a customer who has signed up with the integration
    When the customer cancels at the Link page
    Then the integration stores no consent
    And the integration shows the customer the "AUTH_SESSION_CANCELLED" message
    And the message is friendly and tells the customer to "connect your bank again"
    And the integration requested no banking data

  Scenario Outline: <what happens> (<outcome>)
    Given a customer who has signed up with the integration
    When the Link flow ends with "<outcome>"
    Then Fiskil sends the customer back with error type "<error type>"
    And the integration stores no consent
    And the integration shows the customer the "<error type>" message
    And the message is friendly and tells the customer to "<next step>"
    And the integration requested no banking data

    # Fiskil names no error type of its own for a bank that is unavailable: we take it to arrive as an
    # upstream processing error, like a bank that fails to process the consent (an assumption of the
    # fake, listed in its documentation).
    Examples:
      | what happens                                   | outcome                           | error type                        | next step           |
      | The customer denies consent                    | CONSENT_ENDUSER_DENIED            | CONSENT_ENDUSER_DENIED            | connect again       |
      | The customer fails the one-time password check | CONSENT_OTP_FAILURE               | CONSENT_OTP_FAILURE               | try again           |
      | The customer's account is not eligible         | CONSENT_ENDUSER_INELIGIBLE        | CONSENT_ENDUSER_INELIGIBLE        | try another account |
      | The bank fails to process the consent          | CONSENT_UPSTREAM_PROCESSING_ERROR | CONSENT_UPSTREAM_PROCESSING_ERROR | try again           |
      | The customer takes too long to consent         | CONSENT_TIMEOUT                   | CONSENT_TIMEOUT                   | try again           |
      | The bank is unavailable                        | INSTITUTION_OUTAGE                | CONSENT_UPSTREAM_PROCESSING_ERROR | try again           |

  Scenario: A used Link session cannot be used again
    Given a customer who has signed up with the integration
    And the customer has linked their bank with a banking consent
    When the customer opens the same Link session again
    Then Fiskil refuses the used session
    And the integration stores 1 active consent

  Scenario: A Link session that has expired cannot be used
    Given a customer who has signed up with the integration
    And the customer has started linking their bank
    When 5 days and 1 minute pass
    And the customer opens the same Link session again
    Then Fiskil refuses the expired session
    And the integration stores no consent
    And the integration requested no banking data

  Scenario: After cancelling, the customer can link again
    Given a customer who has signed up with the integration
    And the customer has cancelled at the Link page
    When the customer links their bank with a banking consent
    And the integration syncs the customer
    Then the sync succeeds
    And the integration stores 1 active consent
    And the integration shows the customer no error
