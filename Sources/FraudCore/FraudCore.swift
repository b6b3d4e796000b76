public enum FraudCorePlaceholder {}
