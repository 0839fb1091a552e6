"""FHIR R4 in and out: the SDC Questionnaire, QuestionnaireResponses as input, results as Bundles and CDS cards."""
